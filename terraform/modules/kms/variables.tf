variable "name" {
  description = "Prefix of the key aliases (alias/<name>-<purpose>)."
  type        = string
}

variable "purposes" {
  description = "One key is created per purpose, e.g. eks, rds, redis, msk, logs, secrets."
  type        = list(string)
}

variable "tags" {
  description = "Tags for every resource."
  type        = map(string)
  default     = {}
}
