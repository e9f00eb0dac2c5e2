output "cluster_name" {
  description = "EKS cluster name (aws eks update-kubeconfig --name ...)."
  value       = module.eks.cluster_name
}

output "cluster_endpoint" {
  description = "Private Kubernetes API endpoint."
  value       = module.eks.cluster_endpoint
}

output "postgres_address" {
  description = "RDS PostgreSQL host name."
  value       = module.rds.address
}

output "postgres_proxy_endpoint" {
  description = "Host name of the RDS Proxy the apps connect through (null when postgres_use_proxy is false)."
  value       = module.rds.proxy_endpoint
}

output "database_url_secret_arns" {
  description = "Secrets Manager ARN of each database URL, by database name."
  value       = module.rds.database_url_secret_arns
}

output "redis_url_secret_arn" {
  description = "Secrets Manager ARN of the Redis URL."
  value       = module.redis.url_secret_arn
}

output "kafka_bootstrap_servers" {
  description = "KAFKA_BOOTSTRAP_SERVERS for the chart's component Secrets (TLS + IAM: KAFKA_SECURITY_PROTOCOL=SASL_SSL, KAFKA_SASL_MECHANISM=OAUTHBEARER)."
  value       = module.msk.bootstrap_brokers
}

output "service_account_role_arns" {
  description = "IAM role per component for the chart's serviceAccount.roleArnPattern."
  value       = module.irsa.role_arns
}

output "postgres_master_secret_arn" {
  description = "Secrets Manager ARN of the RDS master credentials (managed by RDS)."
  value       = module.rds.master_user_secret_arn
}
