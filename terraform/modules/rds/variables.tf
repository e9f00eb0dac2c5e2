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
