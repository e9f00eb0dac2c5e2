output "cluster_name" {
  description = "EKS cluster name."
  value       = module.stack.cluster_name
}

output "database_url_secret_arns" {
  description = "Secrets Manager ARN of each database URL, by database name."
  value       = module.stack.database_url_secret_arns
}

output "redis_url_secret_arn" {
  description = "Secrets Manager ARN of the Redis URL."
  value       = module.stack.redis_url_secret_arn
}

output "kafka_bootstrap_servers" {
  description = "KAFKA_BOOTSTRAP_SERVERS."
  value       = module.stack.kafka_bootstrap_servers
}

output "service_account_role_arns" {
  description = "IAM role per chart component (serviceAccount.roleArnPattern)."
  value       = module.stack.service_account_role_arns
}
