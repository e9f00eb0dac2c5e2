variable "name" {
  description = "Replication group id and prefix of its parts."
  type        = string
}

variable "engine_version" {
  description = "Redis engine version, e.g. 7.1."
  type        = string
}

variable "node_type" {
  description = "Cache node type, e.g. cache.r7g.large."
  type        = string
}

variable "replicas" {
  description = "Read replicas besides the primary (0 disables failover; use >= 1 in production)."
  type        = number
}

variable "vpc_id" {
  description = "VPC of the cache."
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
  description = "KMS key for encryption at rest."
  type        = string
}

variable "secrets_kms_key_arn" {
  description = "KMS key for the URL secret."
  type        = string
}

variable "tags" {
  description = "Tags for every resource."
  type        = map(string)
  default     = {}
}
