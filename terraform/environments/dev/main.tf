# Development: the same shape as production, smaller and cheaper (one NAT gateway, no Redis
# replica, single-AZ database without deletion protection).
module "stack" {
  source             = "../../modules/stack"
  name               = "shop-dev"
  environment        = "dev"
  vpc_cidr_block     = "10.20.0.0/16"
  availability_zones = ["${var.region}a", "${var.region}b", "${var.region}c"]
  single_nat_gateway = true
  kubernetes_version = "1.33"
  api_allowed_cidrs  = var.api_allowed_cidrs
  node_groups = {
    general = {
      instance_types = ["m7g.large"]
      capacity_type  = "SPOT"
      min_size       = 2
      desired_size   = 3
      max_size       = 6
      labels         = { workload = "general" }
    }
  }
  postgres_version        = "16.4"
  postgres_instance_class = "db.t4g.medium"
  postgres_storage_gib    = 50
  postgres_multi_az       = false
  postgres_use_proxy      = false
  deletion_protection     = false
  redis_version           = "7.1"
  redis_node_type         = "cache.t4g.small"
  redis_replicas          = 0
  kafka_version           = "3.6.0"
  kafka_instance_type     = "kafka.t3.small"
  kafka_volume_gib        = 50
}
