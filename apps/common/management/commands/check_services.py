from django.core.management.base import BaseCommand, CommandError

from apps.common.management.table import format_table
from apps.common.observability import health


class Command(BaseCommand):
    help = (
        "Reach every dependency of this process and print a table (name, target, status, latency): "
        "each configured database, Redis and Kafka when configured, and the gRPC server of each "
        "app this process calls but does not serve (<APP>_GRPC_TARGET, through the standard gRPC "
        "health service). Exits 1 when any of them fails. Runs the same checks as /readyz."
    )

    def handle(self, *args, **options):
        results = health.run_checks(health.dependency_checks())
        self.stdout.write(format_table(
            ("name", "target", "status", "latency"),
            [(name, result.target, f"FAIL {result.error}" if result.error else "ok",
              f"{result.seconds * 1000:.0f} ms") for name, result in results.items()],
        ))
        failing = [name for name, result in results.items() if result.error]
        if failing:
            raise CommandError(f"{len(failing)} dependency check(s) failed: {', '.join(failing)}.")
