output "address" {
  description = "Host name of the PostgreSQL instance."
  value       = aws_db_instance.this.address
}

output "master_user_secret_arn" {
  description = "Secrets Manager secret holding the master password (managed by RDS)."
  value       = aws_db_instance.this.master_user_secret[0].secret_arn
}

output "database_url_secret_arns" {
  description = "Secrets Manager secret ARN of each database's URL, by database name."
  value       = { for name, secret in aws_secretsmanager_secret.database_url : name => secret.arn }
}

output "proxy_endpoint" {
  description = "Host name of the RDS Proxy (null when use_proxy is false)."
  value       = var.use_proxy ? aws_db_proxy.this[0].endpoint : null
}

output "database_host" {
  description = "Host name the apps' DATABASE_URL secrets point at: the proxy, or the instance when use_proxy is false."
  value       = local.database_host
}
