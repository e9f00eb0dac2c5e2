from django.core.management.base import BaseCommand, CommandError

from apps.payments import idempotency
from config.service_apps import is_served


class Command(BaseCommand):
    help = "Delete idempotency keys past their expiry (IDEMPOTENCY_KEY_TTL_SECONDS, default 24h)."

    def handle(self, *args, **options):
        if not is_served("payments"):
            raise CommandError("This process does not serve payments (see SERVICE_APPS).")
        deleted = idempotency.purge_expired()
        self.stdout.write(f"Deleted {deleted} expired idempotency key(s).")
