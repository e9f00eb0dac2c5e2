output "bootstrap_brokers" {
  description = "PLAINTEXT bootstrap servers, the value of KAFKA_BOOTSTRAP_SERVERS."
  value       = aws_msk_cluster.this.bootstrap_brokers
}

output "bootstrap_brokers_tls" {
  description = "TLS bootstrap servers."
  value       = aws_msk_cluster.this.bootstrap_brokers_tls
}
