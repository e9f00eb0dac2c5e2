from django.conf import settings
from django.core.management.base import BaseCommand, CommandError

from apps.common.events.envelope import app_topic
from apps.common.events.kafka import ensure_topics
from apps.common.events.relay import publishing_apps
from config.service_apps import DOMAIN_APPS


class Command(BaseCommand):
    help = (
        "Create the event topics (<app>.events and <app>.events.dlq for every app that publishes) that do "
        "not exist yet. Relays and consumers also create the ones they use when they start."
    )

    def add_arguments(self, parser):
        parser.add_argument("--partitions", type=int, default=None,
                            help="Partitions per new topic (default KAFKA_PARTITIONS).")

    def handle(self, *args, partitions=None, **options):
        if not settings.KAFKA_BOOTSTRAP_SERVERS:
            raise CommandError("KAFKA_BOOTSTRAP_SERVERS is not set")
        topics = [app_topic(app) for app in publishing_apps(among=DOMAIN_APPS)]
        try:
            created = ensure_topics(topics, partitions=partitions)
        except Exception as exc:
            raise CommandError(f"could not create topics: {exc}") from exc
        for name in created:
            self.stdout.write(f"created {name}")
        self.stdout.write(f"{len(created)} topic(s) created, {2 * len(topics) - len(created)} existed")
