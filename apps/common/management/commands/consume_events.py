import signal

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from apps.common.events.consumers import EventConsumer, consuming_apps


class Command(BaseCommand):
    help = (
        "Run one app's Kafka event consumer in the foreground until SIGINT/SIGTERM (a Celery "
        "worker runs the consumers of every served app itself; this runs one alone)."
    )

    def add_arguments(self, parser):
        parser.add_argument("--app", required=True, choices=consuming_apps(),
                            help="The app whose handlers apply the events.")

    def handle(self, *args, app, **options):
        if not settings.KAFKA_BOOTSTRAP_SERVERS:
            raise CommandError("KAFKA_BOOTSTRAP_SERVERS is not set")
        consumer = EventConsumer(app)
        for signum in (signal.SIGINT, signal.SIGTERM):
            signal.signal(signum, lambda *_: consumer.stop())
        self.stdout.write(f"consuming {', '.join(consumer.topics)} as group {consumer.group_id}")
        self.stdout.flush()
        try:
            consumer.run()
        except Exception as exc:
            raise CommandError(f"consumer failed: {exc}") from exc
        stats = consumer.stats
        self.stdout.write(
            f"stopped: {stats.applied} applied, {stats.skipped} skipped, "
            f"{stats.dead_lettered} dead-lettered"
        )
