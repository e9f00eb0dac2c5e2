variable "region" {
  description = "AWS region."
  type        = string
  default     = "eu-west-1"
}

variable "api_allowed_cidrs" {
  description = "Networks (VPN, CI runners) allowed to reach the private Kubernetes API."
  type        = list(string)
}
