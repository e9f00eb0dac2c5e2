from datetime import timedelta

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from apps.payments import services
from apps.payments.rest.serializers import render_payment
from config.service_apps import is_served


class Command(BaseCommand):
    help = ("Settle payments left pending by a crash or an outage: charged at the provider -> "
            "succeeded with its event; not charged -> failed, reservation released, key freed.")

    def add_arguments(self, parser):
        parser.add_argument(
            "--older-than", type=int, default=settings.PENDING_PAYMENT_TIMEOUT_SECONDS, metavar="SECONDS",
            help="only payments pending for longer (default PENDING_PAYMENT_TIMEOUT_SECONDS)",
        )

    def handle(self, *args, older_than, **options):
        if not is_served("payments"):
            raise CommandError("This process does not serve payments (see SERVICE_APPS).")
        outcomes = services.resolve_pending_payments(render_payment, older_than=timedelta(seconds=older_than))
        self.stdout.write(f"Succeeded {outcomes['succeeded']}, failed {outcomes['failed']}, "
                          f"left to their running request {outcomes['running']}.")
