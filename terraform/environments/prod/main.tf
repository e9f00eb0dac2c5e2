# Production: a NAT gateway per zone, Multi-AZ PostgreSQL with deletion protection, a Redis
# replica with automatic failover, on-demand web nodes and spot capacity for workers.
module "stack" {
  source             = "../../modules/stack"
  name               = "shop-prod"
  environment        = "prod"
  vpc_cidr_block     = "10.10.0.0/16"
  availability_zones = ["${var.region}a", "${var.region}b", "${var.region}c"]
  single_nat_gateway = false
  kubernetes_version = "1.33"
  api_allowed_cidrs  = var.api_allowed_cidrs
  node_groups = {
    web = {
      instance_types = ["m7g.xlarge"]
      capacity_type  = "ON_DEMAND"
      min_size       = 3
      desired_size   = 3
      max_size       = 12
      labels         = { workload = "web" }
    }
    workers = {
      instance_types = ["m7g.large", "m6g.large"]
      capacity_type  = "SPOT"
      min_size       = 2
      desired_size   = 3
      max_size       = 12
      labels         = { workload = "workers" }
    }
  }
  postgres_version        = "16.4"
  postgres_instance_class = "db.r7g.xlarge"
  postgres_storage_gib    = 200
  postgres_multi_az       = true
  postgres_use_proxy      = true
  deletion_protection     = true
  redis_version           = "7.1"
  redis_node_type         = "cache.r7g.large"
  redis_replicas          = 1
  kafka_version           = "3.6.0"
  kafka_instance_type     = "kafka.m7g.large"
  kafka_volume_gib        = 500
}
