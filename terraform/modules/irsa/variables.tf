variable "release" {
  description = "Helm release name; ServiceAccounts are named <release>-<component>."
  type        = string
}

variable "namespace" {
  description = "Kubernetes namespace of the release."
  type        = string
}

variable "components" {
  description = "Secret ARNs each component may read, by component (monolith, users, products, ...)."
  type        = map(list(string))
}

variable "oidc_provider_arn" {
  description = "ARN of the cluster's IAM OIDC provider."
  type        = string
}

variable "oidc_issuer" {
  description = "OIDC issuer host and path, without https://."
  type        = string
}

variable "kafka_cluster_arn" {
  description = "MSK cluster whose topics and groups the components use (IAM authentication)."
  type        = string
}

variable "secrets_kms_key_arn" {
  description = "KMS key the secrets are encrypted with."
  type        = string
}

variable "tags" {
  description = "Tags for every resource."
  type        = map(string)
  default     = {}
}
