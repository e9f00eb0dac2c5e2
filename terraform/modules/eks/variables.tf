variable "name" {
  description = "Cluster name."
  type        = string
}

variable "kubernetes_version" {
  description = "Kubernetes minor version of the control plane."
  type        = string
}

variable "vpc_id" {
  description = "VPC of the cluster."
  type        = string
}

variable "subnet_ids" {
  description = "Private subnets (one per zone) for the control plane ENIs and the nodes."
  type        = list(string)
}

variable "api_allowed_cidrs" {
  description = "Networks allowed to reach the private API endpoint (VPN, CI runners, bastion)."
  type        = list(string)
}

variable "node_groups" {
  description = "Managed node groups by name."
  type = map(object({
    instance_types = list(string)
    capacity_type  = string
    min_size       = number
    desired_size   = number
    max_size       = number
    labels         = map(string)
  }))
}

variable "kms_key_arn" {
  description = "KMS key that encrypts Kubernetes Secrets."
  type        = string
}

variable "logs_kms_key_arn" {
  description = "KMS key that encrypts the control-plane log group."
  type        = string
}

variable "log_retention_days" {
  description = "Retention of the control-plane logs."
  type        = number
  default     = 365
}

variable "tags" {
  description = "Tags for every resource."
  type        = map(string)
  default     = {}
}
