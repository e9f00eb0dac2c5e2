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
