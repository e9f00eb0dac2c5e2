from django.core.management.base import BaseCommand

from apps.payments import idempotency


class Command(BaseCommand):
    help = "Delete idempotency keys past their expiry (IDEMPOTENCY_KEY_TTL_SECONDS, default 24h)."

    def handle(self, *args, **options):
        deleted = idempotency.purge_expired()
        self.stdout.write(f"Deleted {deleted} expired idempotency key(s).")
