output "primary_endpoint" {
  description = "Primary endpoint host of the replication group."
  value       = aws_elasticache_replication_group.this.primary_endpoint_address
}

output "url_secret_arn" {
  description = "Secrets Manager secret with the rediss:// URL (without a database number)."
  value       = aws_secretsmanager_secret.url.arn
}
