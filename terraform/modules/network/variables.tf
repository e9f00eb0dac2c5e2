variable "name" {
  description = "Name prefix of the VPC and its parts."
  type        = string
}

variable "cidr_block" {
  description = "The VPC's address range; split into 16 equal subnets (3 public, 3 private, 3 data used)."
  type        = string
}

variable "availability_zones" {
  description = "Exactly three availability zones."
  type        = list(string)
  validation {
    condition     = length(var.availability_zones) == 3
    error_message = "The VPC spans exactly three availability zones."
  }
}

variable "single_nat_gateway" {
  description = "One NAT gateway for all zones (cheaper, for dev) instead of one per zone."
  type        = bool
  default     = false
}

variable "log_retention_days" {
  description = "Retention of the VPC flow logs."
  type        = number
  default     = 365
}

variable "logs_kms_key_arn" {
  description = "KMS key that encrypts the flow log group."
  type        = string
}

variable "tags" {
  description = "Tags for every resource."
  type        = map(string)
  default     = {}
}
