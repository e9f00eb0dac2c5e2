output "bootstrap_brokers" {
  description = "TLS + IAM bootstrap servers (port 9098), the value of KAFKA_BOOTSTRAP_SERVERS."
  value       = aws_msk_cluster.this.bootstrap_brokers_sasl_iam
}

output "cluster_arn" {
  description = "ARN of the cluster, for the IAM policies of its clients."
  value       = aws_msk_cluster.this.arn
}
