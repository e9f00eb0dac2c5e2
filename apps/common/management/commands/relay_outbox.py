from django.core.management.base import BaseCommand, CommandError

from apps.common.management.progress import progress
from apps.common.outbox import outbox_model
from apps.common.relay import RelayError, publishing_apps, relay_outbox


class Command(BaseCommand):
    help = (
        "Publish every unsent outbox event of the served publishing apps now (to Kafka when "
        "KAFKA_BOOTSTRAP_SERVERS is set, else to this process's handlers). Celery beat does this "
        "every few seconds; use this to drain by hand. Exits non-zero if any event stays unsent."
    )

    def add_arguments(self, parser):
        parser.add_argument("--app", choices=publishing_apps(), help="Only this app's outbox.")
        parser.add_argument("--batch-size", type=int, default=200,
                            help="Outbox rows claimed and published per transaction (default 200).")

    def handle(self, *args, app=None, batch_size=200, **options):
        failed = []
        for name in [app] if app else publishing_apps():
            unsent = outbox_model(name).objects.using(name).filter(sent_at__isnull=True).count()
            try:
                with progress(total=unsent, desc=f"Relaying {name}", unit="event",
                              verbosity=options["verbosity"]) as bar:
                    count = relay_outbox(name, batch_size=batch_size, progress=bar.update)
            except RelayError as exc:
                failed.append(str(exc))
                self.stderr.write(self.style.ERROR(str(exc)))
                continue
            self.stdout.write(f"{name}: relayed {count} event(s)")
        if failed:
            raise CommandError(f"{len(failed)} outbox(es) not fully relayed; the rows stay unsent")
