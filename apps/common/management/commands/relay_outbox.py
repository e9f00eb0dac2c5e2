import signal

from django.core.management.base import BaseCommand, CommandError

from apps.common.events.background import start_in_threads
from apps.common.events.outbox import outbox_model
from apps.common.events.relay import OutboxRelay, RelayError, publishing_apps, relay_outbox
from apps.common.management.progress import progress


class Command(BaseCommand):
    help = (
        "Publish every unsent outbox event of the served publishing apps now (to Kafka when "
        "KAFKA_BOOTSTRAP_SERVERS is set, else to this process's handlers) and exit non-zero if any "
        "stays unsent; with --follow, keep relaying (woken by PostgreSQL NOTIFY, else polling) "
        "until SIGINT/SIGTERM, as the Celery worker does."
    )

    def add_arguments(self, parser):
        parser.add_argument("--app", choices=publishing_apps(), help="Only this app's outbox.")
        parser.add_argument("--batch-size", type=int, default=None,
                            help="Rows per claim and flush (default OUTBOX_RELAY_BATCH_SIZE).")
        parser.add_argument("--follow", action="store_true",
                            help="Run the relay loop in the foreground instead of draining once.")

    def handle(self, *args, app=None, batch_size=None, follow=False, **options):
        apps = [app] if app else publishing_apps()
        if follow:
            self._follow(apps, batch_size)
            return
        failed = []
        for name in apps:
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

    def _follow(self, apps: list[str], batch_size: int | None):
        relays = [OutboxRelay(name, batch_size=batch_size) for name in apps]
        for signum in (signal.SIGINT, signal.SIGTERM):
            signal.signal(signum, lambda *_: [relay.stop() for relay in relays])
        self.stdout.write(f"relaying {', '.join(apps)} until stopped")
        self.stdout.flush()
        threads = start_in_threads(relays)
        while any(thread.is_alive() for thread in threads):
            for thread in threads:
                thread.join(timeout=1)  # short joins: the main thread must stay free for signals
        for relay in relays:
            self.stdout.write(f"{relay.app}: relayed {relay.relayed} event(s)")
