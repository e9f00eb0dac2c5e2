# Everything one environment needs: network, keys, EKS, PostgreSQL, Redis, Kafka and the IAM
# roles of the chart's ServiceAccounts. Environments differ only in the variables.
locals {
  apps       = ["users", "products", "inventory", "payments"]
  components = concat(["monolith"], local.apps)
  tags       = merge(var.tags, { Project = "shop", Environment = var.environment })
}

module "kms" {
  source   = "../kms"
  name     = var.name
  purposes = ["eks", "rds", "redis", "msk", "logs", "secrets"]
  tags     = local.tags
}

module "network" {
  source             = "../network"
  name               = var.name
  cidr_block         = var.vpc_cidr_block
  availability_zones = var.availability_zones
  single_nat_gateway = var.single_nat_gateway
  logs_kms_key_arn   = module.kms.key_arns["logs"]
  tags               = local.tags
}

module "eks" {
  source             = "../eks"
  name               = var.name
  kubernetes_version = var.kubernetes_version
  vpc_id             = module.network.vpc_id
  subnet_ids         = module.network.private_subnet_ids
  api_allowed_cidrs  = var.api_allowed_cidrs
  node_groups        = var.node_groups
  kms_key_arn        = module.kms.key_arns["eks"]
  logs_kms_key_arn   = module.kms.key_arns["logs"]
  tags               = local.tags
}

module "rds" {
  source                   = "../rds"
  name                     = var.name
  apps                     = local.apps
  engine_version           = var.postgres_version
  instance_class           = var.postgres_instance_class
  allocated_storage        = var.postgres_storage_gib
  multi_az                 = var.postgres_multi_az
  use_proxy                = var.postgres_use_proxy
  deletion_protection      = var.deletion_protection
  vpc_id                   = module.network.vpc_id
  subnet_ids               = module.network.data_subnet_ids
  client_security_group_id = module.eks.cluster_security_group_id
  kms_key_arn              = module.kms.key_arns["rds"]
  secrets_kms_key_arn      = module.kms.key_arns["secrets"]
  tags                     = local.tags
}

module "redis" {
  source                   = "../redis"
  name                     = var.name
  engine_version           = var.redis_version
  node_type                = var.redis_node_type
  replicas                 = var.redis_replicas
  vpc_id                   = module.network.vpc_id
  subnet_ids               = module.network.data_subnet_ids
  client_security_group_id = module.eks.cluster_security_group_id
  kms_key_arn              = module.kms.key_arns["redis"]
  secrets_kms_key_arn      = module.kms.key_arns["secrets"]
  tags                     = local.tags
}

module "msk" {
  source                   = "../msk"
  name                     = var.name
  kafka_version            = var.kafka_version
  instance_type            = var.kafka_instance_type
  volume_size              = var.kafka_volume_gib
  vpc_id                   = module.network.vpc_id
  subnet_ids               = module.network.data_subnet_ids
  client_security_group_id = module.eks.cluster_security_group_id
  kms_key_arn              = module.kms.key_arns["msk"]
  logs_kms_key_arn         = module.kms.key_arns["logs"]
  tags                     = local.tags
}

module "irsa" {
  source    = "../irsa"
  release   = var.release
  namespace = var.namespace
  # The monolith reads every database; an app service its own database and its own `default`.
  components = merge(
    { monolith = concat(values(module.rds.database_url_secret_arns), [module.redis.url_secret_arn]) },
    { for app in local.apps : app => [
      module.rds.database_url_secret_arns["shop_${app}"],
      module.rds.database_url_secret_arns["shop_default_${app}"],
      module.redis.url_secret_arn,
    ] },
  )
  oidc_provider_arn   = module.eks.oidc_provider_arn
  oidc_issuer         = module.eks.oidc_issuer
  kafka_cluster_arn   = module.msk.cluster_arn
  secrets_kms_key_arn = module.kms.key_arns["secrets"]
  tags                = local.tags
}
