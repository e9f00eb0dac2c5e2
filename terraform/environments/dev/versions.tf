terraform {
  required_version = ">= 1.6"
  required_providers {
    aws        = { source = "hashicorp/aws", version = "~> 5.80" }
    postgresql = { source = "cyrilgdn/postgresql", version = "~> 1.25" }
    random     = { source = "hashicorp/random", version = "~> 3.6" }
    tls        = { source = "hashicorp/tls", version = "~> 4.0" }
  }
  # State in S3 with locking; pass bucket/table with -backend-config at `terraform init`.
  backend "s3" {
    key          = "shop/dev/terraform.tfstate"
    encrypt      = true
    use_lockfile = true
  }
}

provider "aws" {
  region = var.region
  default_tags {
    tags = { ManagedBy = "terraform" }
  }
}

# Creates the per-app databases and roles; run from inside the VPC (VPN or bastion), as the
# instance is not public. The master password comes from the secret RDS manages.
data "aws_secretsmanager_secret_version" "postgres_master" {
  secret_id = module.stack.postgres_master_secret_arn
}

provider "postgresql" {
  host      = module.stack.postgres_address
  port      = 5432
  username  = jsondecode(data.aws_secretsmanager_secret_version.postgres_master.secret_string)["username"]
  password  = jsondecode(data.aws_secretsmanager_secret_version.postgres_master.secret_string)["password"]
  sslmode   = "require"
  superuser = false
}
