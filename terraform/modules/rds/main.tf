# One PostgreSQL instance (Multi-AZ) holding one database and one login role per app, plus the
# `default` database of each process (Django's own tables). Each app's URL is kept in Secrets
# Manager, where the cluster's secret store syncs it into that app's Kubernetes Secret.
# With var.use_proxy those URLs name an RDS Proxy in front of the instance (end of this file).
terraform {
  required_providers {
    aws        = { source = "hashicorp/aws" }
    postgresql = { source = "cyrilgdn/postgresql" }
    random     = { source = "hashicorp/random" }
  }
}

resource "aws_db_subnet_group" "this" {
  name       = var.name
  subnet_ids = var.subnet_ids
  tags       = var.tags
}

resource "aws_security_group" "this" {
  name        = "${var.name}-postgres"
  description = "PostgreSQL from the EKS nodes only"
  vpc_id      = var.vpc_id
  tags        = var.tags
}

resource "aws_vpc_security_group_ingress_rule" "postgres" {
  security_group_id            = aws_security_group.this.id
  description                  = "PostgreSQL from EKS"
  referenced_security_group_id = var.client_security_group_id
  from_port                    = 5432
  to_port                      = 5432
  ip_protocol                  = "tcp"
}

resource "aws_db_parameter_group" "this" {
  name   = var.name
  family = "postgres${split(".", var.engine_version)[0]}"
  parameter {
    name  = "rds.force_ssl"
    value = "1"
  }
  parameter {
    name  = "log_min_duration_statement"
    value = "500"
  }
  parameter {
    name  = "log_connections"
    value = "1"
  }
  tags = var.tags
}

resource "aws_iam_role" "monitoring" {
  name = "${var.name}-rds-monitoring"
  assume_role_policy = jsonencode({
    Version = "2012-10-17"
    Statement = [{
      Effect    = "Allow"
      Principal = { Service = "monitoring.rds.amazonaws.com" }
      Action    = "sts:AssumeRole"
    }]
  })
  managed_policy_arns = ["arn:aws:iam::aws:policy/service-role/AmazonRDSEnhancedMonitoringRole"]
  tags                = var.tags
}

resource "aws_db_instance" "this" {
  # Both are variables so that dev can run one cheap, disposable instance; environments/prod sets
  # them to true (tests/deploy/test_terraform.py holds it to that).
  #checkov:skip=CKV_AWS_157:Multi-AZ is var.multi_az, true in prod (see comment above)
  #checkov:skip=CKV_AWS_293:deletion protection is var.deletion_protection, true in prod
  identifier                          = var.name
  engine                              = "postgres"
  engine_version                      = var.engine_version
  instance_class                      = var.instance_class
  allocated_storage                   = var.allocated_storage
  max_allocated_storage               = var.allocated_storage * 4
  storage_type                        = "gp3"
  storage_encrypted                   = true
  kms_key_id                          = var.kms_key_arn
  username                            = "shop_admin"
  manage_master_user_password         = true
  master_user_secret_kms_key_id       = var.kms_key_arn
  db_subnet_group_name                = aws_db_subnet_group.this.name
  vpc_security_group_ids              = [aws_security_group.this.id]
  parameter_group_name                = aws_db_parameter_group.this.name
  multi_az                            = var.multi_az
  publicly_accessible                 = false
  iam_database_authentication_enabled = true
  backup_retention_period             = var.backup_retention_days
  copy_tags_to_snapshot               = true
  deletion_protection                 = var.deletion_protection
  skip_final_snapshot                 = false
  final_snapshot_identifier           = "${var.name}-final"
  auto_minor_version_upgrade          = true
  performance_insights_enabled        = true
  performance_insights_kms_key_id     = var.kms_key_arn
  monitoring_interval                 = 30
  monitoring_role_arn                 = aws_iam_role.monitoring.arn
  enabled_cloudwatch_logs_exports     = ["postgresql", "upgrade"]
  tags                                = var.tags
}

locals {
  # Each app's own database, and each process's `default`: the monolith's and one per app service.
  databases = concat(
    [for app in var.apps : "shop_${app}"],
    ["shop_default"],
    [for app in var.apps : "shop_default_${app}"],
  )
}

resource "random_password" "role" {
  for_each = toset(local.databases)
  length   = 40
  special  = false
}

resource "postgresql_role" "this" {
  for_each = toset(local.databases)
  name     = each.key
  login    = true
  password = random_password.role[each.key].result
}

resource "postgresql_database" "this" {
  for_each = toset(local.databases)
  name     = each.key
  owner    = postgresql_role.this[each.key].name
}

resource "aws_secretsmanager_secret" "database_url" {
  for_each = toset(local.databases)
  name     = "${var.name}/database-url/${each.key}"
  # Rotation is a new password applied by Terraform and a rolling restart; a rotation Lambda
  # would change the password under running pods without updating their Kubernetes Secret.
  #checkov:skip=CKV2_AWS_57:rotated by terraform apply + rollout restart (see comment above)
  kms_key_id = var.secrets_kms_key_arn
  tags       = var.tags
}

resource "aws_secretsmanager_secret_version" "database_url" {
  for_each      = toset(local.databases)
  secret_id     = aws_secretsmanager_secret.database_url[each.key].id
  secret_string = "postgres://${each.key}:${random_password.role[each.key].result}@${local.database_host}:5432/${postgresql_database.this[each.key].name}?sslmode=require"
}

# RDS Proxy (var.use_proxy): the apps' URLs name the proxy, which multiplexes every pod's
# connections onto at most max_connections_percent of the instance's max_connections, so
# connections per pod x replicas no longer have to fit under max_connections. The proxy sits in
# the instance's subnets and security group (the EKS nodes reach it like the instance; it reaches
# the instance through the group's self rules below), requires TLS from the clients and logs in
# as each app's role with that role's credentials from Secrets Manager.
locals {
  database_host = var.use_proxy ? aws_db_proxy.this[0].endpoint : aws_db_instance.this.address
}

resource "aws_vpc_security_group_ingress_rule" "proxy_to_instance" {
  count                        = var.use_proxy ? 1 : 0
  security_group_id            = aws_security_group.this.id
  description                  = "PostgreSQL from RDS Proxy"
  referenced_security_group_id = aws_security_group.this.id
  from_port                    = 5432
  to_port                      = 5432
  ip_protocol                  = "tcp"
}

resource "aws_vpc_security_group_egress_rule" "proxy_to_instance" {
  count                        = var.use_proxy ? 1 : 0
  security_group_id            = aws_security_group.this.id
  description                  = "RDS Proxy to PostgreSQL"
  referenced_security_group_id = aws_security_group.this.id
  from_port                    = 5432
  to_port                      = 5432
  ip_protocol                  = "tcp"
}

# The proxy reads a role's user name and password as JSON; the URL secrets above are what the
# apps read, so each role also gets a credentials secret that only the proxy may read.
resource "aws_secretsmanager_secret" "proxy_credentials" {
  for_each = var.use_proxy ? toset(local.databases) : toset([])
  name     = "${var.name}/proxy-credentials/${each.key}"
  # Same as the URL secrets: a new password is applied by Terraform (which updates this secret
  # and the URL secret together), not by a rotation Lambda the URL secret would not follow.
  #checkov:skip=CKV2_AWS_57:rotated by terraform apply together with the URL secret (see comment above)
  kms_key_id = var.secrets_kms_key_arn
  tags       = var.tags
}

resource "aws_secretsmanager_secret_version" "proxy_credentials" {
  for_each  = aws_secretsmanager_secret.proxy_credentials
  secret_id = each.value.id
  secret_string = jsonencode({
    username = postgresql_role.this[each.key].name
    password = random_password.role[each.key].result
  })
}

data "aws_region" "current" {}

resource "aws_iam_role" "proxy" {
  count = var.use_proxy ? 1 : 0
  name  = "${var.name}-rds-proxy"
  assume_role_policy = jsonencode({
    Version = "2012-10-17"
    Statement = [{
      Effect    = "Allow"
      Principal = { Service = "rds.amazonaws.com" }
      Action    = "sts:AssumeRole"
    }]
  })
  tags = var.tags
}

# Least privilege: read only the proxy's credential secrets, and decrypt with the secrets key only
# through Secrets Manager.
resource "aws_iam_role_policy" "proxy_secrets" {
  count = var.use_proxy ? 1 : 0
  name  = "read-proxy-credentials"
  role  = aws_iam_role.proxy[0].id
  policy = jsonencode({
    Version = "2012-10-17"
    Statement = [
      {
        Effect   = "Allow"
        Action   = ["secretsmanager:GetSecretValue"]
        Resource = [for secret in aws_secretsmanager_secret.proxy_credentials : secret.arn]
      },
      {
        Effect   = "Allow"
        Action   = ["kms:Decrypt"]
        Resource = [var.secrets_kms_key_arn]
        Condition = {
          StringEquals = { "kms:ViaService" = "secretsmanager.${data.aws_region.current.name}.amazonaws.com" }
        }
      },
    ]
  })
}

resource "aws_db_proxy" "this" {
  count                  = var.use_proxy ? 1 : 0
  name                   = var.name
  engine_family          = "POSTGRESQL"
  require_tls            = true
  idle_client_timeout    = var.proxy_idle_client_timeout
  debug_logging          = false
  role_arn               = aws_iam_role.proxy[0].arn
  vpc_subnet_ids         = var.subnet_ids
  vpc_security_group_ids = [aws_security_group.this.id]

  dynamic "auth" {
    for_each = aws_secretsmanager_secret.proxy_credentials
    content {
      description               = "Login role ${auth.key}"
      auth_scheme               = "SECRETS"
      iam_auth                  = "DISABLED"
      client_password_auth_type = "POSTGRES_SCRAM_SHA_256"
      secret_arn                = auth.value.arn
    }
  }

  tags = var.tags
  # The credentials must be readable before the proxy tries them.
  depends_on = [aws_iam_role_policy.proxy_secrets, aws_secretsmanager_secret_version.proxy_credentials]
}

resource "aws_db_proxy_default_target_group" "this" {
  count         = var.use_proxy ? 1 : 0
  db_proxy_name = aws_db_proxy.this[0].name
  connection_pool_config {
    # Headroom above this is left for migrations, the master user and RDS's own connections.
    max_connections_percent      = var.proxy_max_connections_percent
    max_idle_connections_percent = var.proxy_max_idle_connections_percent
    # Seconds a client waits for a database connection; the apps give up after
    # DATABASE_CONNECT_TIMEOUT (3 s) anyway, so waiting longer would only hold the proxy's slot.
    connection_borrow_timeout = 3
  }
}

resource "aws_db_proxy_target" "this" {
  count                  = var.use_proxy ? 1 : 0
  db_proxy_name          = aws_db_proxy.this[0].name
  target_group_name      = aws_db_proxy_default_target_group.this[0].name
  db_instance_identifier = aws_db_instance.this.identifier
}
