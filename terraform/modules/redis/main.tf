# ElastiCache Redis (cache, login throttling, Celery broker): Multi-AZ with automatic failover,
# encrypted at rest and in transit, AUTH token kept in Secrets Manager.
resource "aws_elasticache_subnet_group" "this" {
  name       = var.name
  subnet_ids = var.subnet_ids
  tags       = var.tags
}

resource "aws_security_group" "this" {
  name        = "${var.name}-redis"
  description = "Redis from the EKS nodes only"
  vpc_id      = var.vpc_id
  tags        = var.tags
}

resource "aws_vpc_security_group_ingress_rule" "redis" {
  security_group_id            = aws_security_group.this.id
  description                  = "Redis from EKS"
  referenced_security_group_id = var.client_security_group_id
  from_port                    = 6379
  to_port                      = 6379
  ip_protocol                  = "tcp"
}

resource "random_password" "auth" {
  length  = 64
  special = false
}

resource "aws_elasticache_replication_group" "this" {
  # Failover needs a replica; dev runs none to save cost, prod runs one (var.replicas).
  #checkov:skip=CKV2_AWS_50:failover follows var.replicas, 1 in prod (see comment above)
  replication_group_id       = var.name
  description                = "Shop cache and Celery broker"
  engine                     = "redis"
  engine_version             = var.engine_version
  node_type                  = var.node_type
  num_cache_clusters         = var.replicas + 1
  automatic_failover_enabled = var.replicas > 0
  multi_az_enabled           = var.replicas > 0
  port                       = 6379
  subnet_group_name          = aws_elasticache_subnet_group.this.name
  security_group_ids         = [aws_security_group.this.id]
  at_rest_encryption_enabled = true
  kms_key_id                 = var.kms_key_arn
  transit_encryption_enabled = true
  auth_token                 = random_password.auth.result
  snapshot_retention_limit   = 7
  auto_minor_version_upgrade = true
  tags                       = var.tags
}

resource "aws_secretsmanager_secret" "url" {
  name = "${var.name}/redis-url"
  #checkov:skip=CKV2_AWS_57:the AUTH token is rotated by terraform apply + rollout restart
  kms_key_id = var.secrets_kms_key_arn
  tags       = var.tags
}

resource "aws_secretsmanager_secret_version" "url" {
  secret_id     = aws_secretsmanager_secret.url.id
  secret_string = "rediss://:${random_password.auth.result}@${aws_elasticache_replication_group.this.primary_endpoint_address}:6379"
}
