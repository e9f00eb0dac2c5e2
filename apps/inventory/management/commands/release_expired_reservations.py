from django.core.management.base import BaseCommand, CommandError

from apps.inventory import services
from config.service_apps import is_served


class Command(BaseCommand):
    help = (
        "Release every active stock reservation whose time to live (RESERVATION_TTL_SECONDS) has "
        "passed, giving its units back to available stock, and print how many were released. "
        "Celery beat runs the same every minute; this command is for operators and cron."
    )

    def handle(self, *args, **options):
        if not is_served("inventory"):
            raise CommandError("This process does not serve inventory (see SERVICE_APPS).")
        try:
            released = services.release_expired_reservations()
        except Exception as exc:
            raise CommandError(f"Releasing expired reservations failed: {exc}") from exc
        self.stdout.write(f"Released {released} expired reservation(s).")
