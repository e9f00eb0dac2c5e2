output "role_arns" {
  description = "IAM role ARN per component (the chart's serviceAccount.roleArnPattern)."
  value       = { for component, role in aws_iam_role.this : component => role.arn }
}
