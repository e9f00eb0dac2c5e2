variable "name" {
  description = "Name prefix of every resource, e.g. shop-prod."
  type        = string
}

variable "environment" {
  description = "Environment tag (dev, prod)."
  type        = string
}

variable "release" {
  description = "Helm release name of the shop chart."
  type        = string
  default     = "shop"
}

variable "namespace" {
  description = "Kubernetes namespace of the release."
  type        = string
  default     = "shop"
}

variable "vpc_cidr_block" {
  description = "Address range of the VPC."
  type        = string
}

variable "availability_zones" {
  description = "The three availability zones to span."
  type        = list(string)
}

variable "single_nat_gateway" {
  description = "One NAT gateway instead of one per zone."
  type        = bool
}

variable "kubernetes_version" {
  description = "EKS Kubernetes version."
  type        = string
}

variable "api_allowed_cidrs" {
  description = "Networks allowed to reach the private Kubernetes API."
  type        = list(string)
}

variable "node_groups" {
  description = "EKS managed node groups by name (see modules/eks)."
  type = map(object({
    instance_types = list(string)
    capacity_type  = string
    min_size       = number
    desired_size   = number
    max_size       = number
    labels         = map(string)
  }))
}

variable "postgres_version" {
  description = "RDS PostgreSQL engine version."
  type        = string
}

variable "postgres_instance_class" {
  description = "RDS instance class."
  type        = string
}

variable "postgres_storage_gib" {
  description = "Initial RDS storage in GiB."
  type        = number
}

variable "postgres_multi_az" {
  description = "RDS standby in a second zone."
  type        = bool
}

variable "postgres_use_proxy" {
  description = "RDS Proxy in front of PostgreSQL; the apps' DATABASE_URL secrets name the proxy (true in prod, dev may connect directly)."
  type        = bool
  default     = true
}

variable "deletion_protection" {
  description = "Protect the database from deletion."
  type        = bool
}

variable "redis_version" {
  description = "ElastiCache Redis engine version."
  type        = string
}

variable "redis_node_type" {
  description = "ElastiCache node type."
  type        = string
}

variable "redis_replicas" {
  description = "Redis replicas besides the primary."
  type        = number
}

variable "kafka_version" {
  description = "MSK Kafka version."
  type        = string
}

variable "kafka_instance_type" {
  description = "MSK broker instance type."
  type        = string
}

variable "kafka_volume_gib" {
  description = "EBS storage per Kafka broker in GiB."
  type        = number
}

variable "tags" {
  description = "Extra tags for every resource."
  type        = map(string)
  default     = {}
}
