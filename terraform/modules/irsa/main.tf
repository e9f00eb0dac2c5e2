# IAM roles for service accounts: one role per component, assumable only by that component's
# Kubernetes ServiceAccount (<release>-<component> in the release namespace), allowed to read
# only its own database URL secrets and the shared Redis URL (e.g. through External Secrets), and
# to use the MSK cluster through IAM authentication (create, write and read this product's topics).
data "aws_iam_policy_document" "trust" {
  for_each = var.components
  statement {
    actions = ["sts:AssumeRoleWithWebIdentity"]
    principals {
      type        = "Federated"
      identifiers = [var.oidc_provider_arn]
    }
    condition {
      test     = "StringEquals"
      variable = "${var.oidc_issuer}:sub"
      values   = ["system:serviceaccount:${var.namespace}:${var.release}-${each.key}"]
    }
    condition {
      test     = "StringEquals"
      variable = "${var.oidc_issuer}:aud"
      values   = ["sts.amazonaws.com"]
    }
  }
}

resource "aws_iam_role" "this" {
  for_each           = var.components
  name               = "${var.release}-${each.key}"
  assume_role_policy = data.aws_iam_policy_document.trust[each.key].json
  tags               = var.tags
}

resource "aws_iam_role_policy" "secrets" {
  for_each = var.components
  name     = "read-own-secrets"
  role     = aws_iam_role.this[each.key].id
  policy = jsonencode({
    Version = "2012-10-17"
    Statement = [
      {
        Effect   = "Allow"
        Action   = ["secretsmanager:GetSecretValue", "secretsmanager:DescribeSecret"]
        Resource = each.value
      },
      {
        Effect   = "Allow"
        Action   = ["kms:Decrypt"]
        Resource = [var.secrets_kms_key_arn]
      },
    ]
  })
}

# What the app does with Kafka: idempotent producer, consumer groups, topic creation and the
# start-up check of topics and brokers.
resource "aws_iam_role_policy" "kafka" {
  for_each = var.components
  name     = "use-kafka"
  role     = aws_iam_role.this[each.key].id
  policy = jsonencode({
    Version = "2012-10-17"
    Statement = [
      {
        Effect   = "Allow"
        Action   = ["kafka-cluster:Connect", "kafka-cluster:DescribeCluster", "kafka-cluster:WriteDataIdempotently"]
        Resource = [var.kafka_cluster_arn]
      },
      {
        Effect = "Allow"
        Action = [
          "kafka-cluster:CreateTopic", "kafka-cluster:DescribeTopic", "kafka-cluster:DescribeTopicDynamicConfiguration",
          "kafka-cluster:WriteData", "kafka-cluster:ReadData",
        ]
        Resource = ["${replace(var.kafka_cluster_arn, ":cluster/", ":topic/")}/*"]
      },
      {
        Effect   = "Allow"
        Action   = ["kafka-cluster:AlterGroup", "kafka-cluster:DescribeGroup"]
        Resource = ["${replace(var.kafka_cluster_arn, ":cluster/", ":group/")}/*"]
      },
    ]
  })
}
