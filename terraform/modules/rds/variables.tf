variable "name" {
  description = "Identifier of the instance and prefix of its parts."
  type        = string
}

variable "apps" {
  description = "Apps that get a database, a login role and a `default` database of their own."
  type        = list(string)
}

variable "engine_version" {
  description = "PostgreSQL version, e.g. 16.4."
  type        = string
}

variable "instance_class" {
  description = "Instance class, e.g. db.r6g.large."
  type        = string
}

variable "allocated_storage" {
  description = "Initial storage in GiB (autoscaling up to four times this)."
  type        = number
}

variable "multi_az" {
  description = "Standby in a second zone with automatic failover."
  type        = bool
  default     = true
}

variable "backup_retention_days" {
  description = "Days of automated backups (point-in-time recovery window)."
  type        = number
  default     = 14
}

variable "deletion_protection" {
  description = "Refuse to delete the instance."
  type        = bool
  default     = true
}

variable "vpc_id" {
  description = "VPC of the instance."
  type        = string
}

variable "subnet_ids" {
  description = "Data subnets, one per zone."
  type        = list(string)
}

variable "client_security_group_id" {
  description = "Security group of the EKS nodes, the only clients."
  type        = string
}

variable "kms_key_arn" {
  description = "KMS key for storage, Performance Insights and the master password secret."
  type        = string
}

variable "secrets_kms_key_arn" {
  description = "KMS key for the per-database URL secrets."
  type        = string
}

variable "tags" {
  description = "Tags for every resource."
  type        = map(string)
  default     = {}
}

variable "use_proxy" {
  description = "Put an RDS Proxy in front of the instance and point every app's DATABASE_URL secret at it, so connections per pod x replicas do not have to fit under max_connections (true in prod; dev may connect directly)."
  type        = bool
  default     = true
}

variable "proxy_idle_client_timeout" {
  description = "Seconds after which the proxy closes an idle client connection (the apps' pools close theirs after 600 s)."
  type        = number
  default     = 1800
  validation {
    condition     = var.proxy_idle_client_timeout >= 1 && var.proxy_idle_client_timeout <= 28800
    error_message = "RDS Proxy accepts 1 to 28800 seconds."
  }
}

variable "proxy_max_connections_percent" {
  description = "Share of the instance's max_connections the proxy may open (the rest stays free for migrations and the master user)."
  type        = number
  default     = 80
  validation {
    condition     = var.proxy_max_connections_percent >= 1 && var.proxy_max_connections_percent <= 100
    error_message = "A percentage, 1 to 100."
  }
}

variable "proxy_max_idle_connections_percent" {
  description = "Share of the instance's max_connections the proxy may keep open while idle."
  type        = number
  default     = 40
  validation {
    condition     = var.proxy_max_idle_connections_percent >= 0 && var.proxy_max_idle_connections_percent <= 100
    error_message = "A percentage, 0 to 100."
  }
}
