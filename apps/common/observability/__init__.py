"""What operators see of a running process: Prometheus metrics and their exporter (`metrics`),
structured request logs (`logging`), OpenTelemetry tracing (`telemetry`), liveness and
readiness checks (`health`), and the middleware that answers those operational paths whatever
the Host header (`operational_paths`). The signals and their meaning: docs/observability.md.
"""
