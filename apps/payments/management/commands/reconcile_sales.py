from collections import Counter
from datetime import UTC

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from apps.payments import reconciliation
from config.service_apps import is_served


class Command(BaseCommand):
    help = (
        "Find succeeded payments that are not a sale in inventory, refunds whose units were not "
        "put back, and reservations still held for paid purchases, and publish each one's "
        "original event again (consumers apply an event once, so this is safe to repeat). Celery "
        "beat runs the same every RECONCILE_SALES_INTERVAL_SECONDS."
    )

    def add_arguments(self, parser):
        parser.add_argument("--dry-run", action="store_true", help="Report only; publish nothing.")
        parser.add_argument("--since", type=iso_datetime, default=None,
                            help="ISO 8601 time of the oldest payment event to check (default: "
                                 "RECONCILE_SALES_WINDOW_SECONDS ago).")
        parser.add_argument("--grace", type=float, default=None,
                            help="Seconds an event sent may still be on its way before its absence "
                                 "counts (default RECONCILE_SALES_GRACE_SECONDS).")

    def handle(self, *args, dry_run=False, since=None, grace=None, **options):
        if not is_served("payments"):
            raise CommandError("This process does not serve payments (see SERVICE_APPS).")
        try:
            result = reconciliation.reconcile_sales(since=since, grace_seconds=grace, dry_run=dry_run)
        except Exception as exc:
            raise CommandError(f"Reconciliation failed: {exc}") from exc
        for discrepancy in result.found:
            self.stdout.write(f"{discrepancy.kind}: payment {discrepancy.payment_id} "
                              f"(event {discrepancy.event_id})")
        kinds = Counter(discrepancy.kind for discrepancy in result.found)
        summary = ", ".join(f"{count} {kind}" for kind, count in sorted(kinds.items())) or "nothing missing"
        action = "dry run, nothing published" if dry_run else f"{result.repaired} event(s) published again"
        self.stdout.write(f"Checked {result.checked} payment event(s) since {result.since.isoformat()}: "
                          f"{summary}; {action}.")


def iso_datetime(value: str):
    """`2026-12-01T06:00`, `2026-12-01 06:00:00+01:00`; without an offset, UTC."""
    parsed = parse_datetime(value)
    if parsed is None:
        raise ValueError(value)
    return parsed if timezone.is_aware(parsed) else timezone.make_aware(parsed, UTC)
