variable "name" {
  description = "Cluster name and prefix of its parts."
  type        = string
}

variable "kafka_version" {
  description = "Kafka version, e.g. 3.6.0."
  type        = string
}

variable "instance_type" {
  description = "Broker instance type, e.g. kafka.m7g.large."
  type        = string
}

variable "volume_size" {
  description = "EBS storage per broker in GiB."
  type        = number
}

variable "vpc_id" {
  description = "VPC of the cluster."
  type        = string
}

variable "subnet_ids" {
  description = "Data subnets, one broker per zone."
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

variable "logs_kms_key_arn" {
  description = "KMS key for the broker log group."
  type        = string
}

variable "log_retention_days" {
  description = "Retention of the broker logs."
  type        = number
  default     = 365
}

variable "tags" {
  description = "Tags for every resource."
  type        = map(string)
  default     = {}
}
