"""The transactional outbox and idempotent event application.

A publishing app declares `class OutboxEvent(OutboxEventBase)` in its models, and a consuming app
`class ProcessedEvent(ProcessedEventBase)`: both tables live in that app's own database, so an
event commits with the change it describes, and a handler's effect commits with the record that
it was applied.
"""

import logging
import uuid

from django.apps import apps as django_apps
from django.conf import settings
from django.db import IntegrityError, connections, models, transaction
from django.utils import timezone

from apps.common.events import CloudEvent, handlers_for, subscribers, topic_for
from apps.common.telemetry import event_span, inject_traceparent

logger = logging.getLogger(__name__)


class OutboxEventBase(models.Model):
    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)  # the CloudEvent id
    topic = models.CharField(max_length=200)
    key = models.CharField(max_length=200)
    type = models.CharField(max_length=200)
    payload = models.JSONField()  # the whole CloudEvent document
    created_at = models.DateTimeField(default=timezone.now, db_index=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    attempts = models.PositiveIntegerField(default=0)
    last_error = models.TextField(blank=True)

    class Meta:
        abstract = True
        ordering = ["created_at"]
        indexes = [
            models.Index(
                fields=["created_at"], name="%(app_label)s_outbox_unsent",
                condition=models.Q(sent_at__isnull=True),
            )
        ]

    def __str__(self):
        return f"{self.type} {self.id}"

    @property
    def event(self) -> CloudEvent:
        return CloudEvent.from_dict(self.payload)


class ProcessedEventBase(models.Model):
    event_id = models.CharField(primary_key=True, max_length=255)
    type = models.CharField(max_length=200)
    processed_at = models.DateTimeField(default=timezone.now)

    class Meta:
        abstract = True

    def __str__(self):
        return f"{self.type} {self.event_id}"


def outbox_model(app: str):
    return django_apps.get_model(app, "OutboxEvent")


def emit(app: str, event_type: str, data: dict, key: str) -> CloudEvent:
    """Record an event in `app`'s outbox, inside the transaction that makes the change.

    `key` is the aggregate id: events of one aggregate keep their order on the topic.
    """
    if not connections[app].in_atomic_block:
        raise RuntimeError(f"emit() must run inside transaction.atomic(using={app!r})")
    event = CloudEvent(
        type=event_type, source=f"/{app}", data=data, subject=key, traceparent=inject_traceparent(),
    )
    outbox_model(app).objects.using(app).create(
        id=event.id, topic=topic_for(event_type), key=key, type=event_type, payload=event.to_dict(),
    )
    _announce(app)
    return event


def emit_many(app: str, events: list[tuple[str, dict, str]]) -> list[CloudEvent]:
    """`emit` for a batch of `(type, data, key)`: one bulk insert instead of one per event."""
    if not connections[app].in_atomic_block:
        raise RuntimeError(f"emit_many() must run inside transaction.atomic(using={app!r})")
    traceparent = inject_traceparent()
    cloud_events = [
        CloudEvent(type=event_type, source=f"/{app}", data=data, subject=key, traceparent=traceparent)
        for event_type, data, key in events
    ]
    model = outbox_model(app)
    model.objects.using(app).bulk_create(
        [
            model(id=event.id, topic=topic_for(event.type), key=event.subject, type=event.type,
                  payload=event.to_dict())
            for event in cloud_events
        ],
        batch_size=1000,
    )
    if cloud_events:
        _announce(app)
    return cloud_events


def resend(app: str, event_ids: list) -> int:
    """Publish `app`'s outbox events `event_ids` again, as they were (same CloudEvent id, so a
    consumer that applied them already skips them). Inside the caller's transaction, like `emit`."""
    if not connections[app].in_atomic_block:
        raise RuntimeError(f"resend() must run inside transaction.atomic(using={app!r})")
    count = outbox_model(app).objects.using(app).filter(pk__in=event_ids).update(sent_at=None)
    if count:
        _announce(app)
    return count


def relay_channel(app: str) -> str:
    """The PostgreSQL notification channel on which `app`'s relays wait for committed rows."""
    return f"outbox_{app}"


def _announce(app: str) -> None:
    """Have the new rows relayed once the transaction commits.

    With Kafka, a `NOTIFY` in the transaction itself: PostgreSQL delivers it at commit (never for
    a rollback) to the relays LISTENing on the channel, and folds repeats within one transaction
    into one. On SQLite they find the rows by polling. Without Kafka (embedded), this process
    hands the events to its own handlers after commit.
    """
    if not settings.KAFKA_BOOTSTRAP_SERVERS:
        transaction.on_commit(lambda: relay_in_process(app), using=app)
    elif connections[app].vendor == "postgresql":
        with connections[app].cursor() as cursor:
            cursor.execute("SELECT pg_notify(%s, '')", [relay_channel(app)])


def relay_in_process(app: str) -> None:
    """Embedded mode, after commit: apply what `app` just committed. Never fails the request that
    committed: a row left unsent is retried by the relay loop's polling or `manage.py relay_outbox`."""
    from apps.common.relay import relay_outbox

    try:
        relay_outbox(app)
    except Exception:
        logger.exception("relaying %s's outbox failed", app)


def apply_event(app: str, event: CloudEvent) -> bool:
    """Run `app`'s handler for `event` once. False when it was applied before (a re-delivery)."""
    handler = handlers_for(app).get(event.type)
    if handler is None:
        return False
    processed_model = django_apps.get_model(app, "ProcessedEvent")
    with event_span(event, "process"), transaction.atomic(using=app):
        try:
            # The primary key makes a concurrent duplicate wait here, then fail: applied once.
            with transaction.atomic(using=app):
                processed_model.objects.using(app).create(event_id=event.id, type=event.type)
        except IntegrityError:
            return False
        handler(event)
    return True


def dispatch_in_process(event: CloudEvent) -> None:
    """Without Kafka, hand the event to the handlers of the apps served in this process."""
    for app in subscribers(event.type):
        apply_event(app, event)
