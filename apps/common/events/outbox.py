"""The transactional outbox and idempotent event application.

A publishing app declares `class OutboxEvent(OutboxEventBase)` in its models, and a consuming app
`class ProcessedEvent(ProcessedEventBase)`: both tables live in that app's own database, so an
event commits with the change it describes, and a handler's effect commits with the record that
it was applied.
"""

import functools
import logging
import uuid
from contextlib import ExitStack
from dataclasses import dataclass, field
from itertools import groupby

from confluent_kafka import KafkaException
from django.apps import apps as django_apps
from django.conf import settings
from django.db import connections, migrations, models, transaction
from django.dispatch import Signal
from django.utils import timezone
from redis.exceptions import RedisError

from apps.common.api.errors import DATABASE_UNAVAILABLE, DomainError, ServiceUnavailable
from apps.common.events.envelope import (
    CloudEvent,
    Handler,
    InvalidEvent,
    Received,
    from_document,
    handlers_for,
    is_declared,
    new_event,
    subscribers,
    to_document,
    topic_for,
)
from apps.common.observability.telemetry import event_span, inject_traceparent

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
        return from_document(self.payload)


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
    return emit_many(app, [(event_type, data, key)])[0]


def emit_many(app: str, events: list[tuple[str, dict, str]]) -> list[CloudEvent]:
    """`emit` for a batch of `(type, data, key)`: one bulk insert instead of one per event."""
    if not connections[app].in_atomic_block:
        raise RuntimeError(f"emit() must run inside transaction.atomic(using={app!r})")
    traceparent = inject_traceparent()
    cloud_events = [
        new_event(event_type, f"/{app}", data, subject=key, traceparent=traceparent)
        for event_type, data, key in events
    ]
    model = outbox_model(app)
    model.objects.using(app).bulk_create(
        [
            model(id=event.get_id(), topic=topic_for(event.get_type()), key=event.get_subject(),
                  type=event.get_type(), payload=to_document(event))
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


# Sent once a transaction that wrote an outbox commits, without Kafka (the sender is the app): the
# relay hands the rows to this process's handlers (`relay.relay_in_process`, connected by
# `CommonConfig.ready()`: the outbox is below the relay and does not import it).
committed_in_process = Signal()


def _announce(app: str) -> None:
    """Have the new rows relayed once the transaction commits.

    With Kafka on PostgreSQL, a `NOTIFY` to the relays LISTENing on the channel, once per
    transaction, after its commit (see `_wake_relays`). On SQLite they find the rows by polling.
    Without Kafka (embedded), this process hands the events to its own handlers after commit.
    """
    if not settings.KAFKA_BOOTSTRAP_SERVERS:
        transaction.on_commit(lambda: committed_in_process.send(sender=app), using=app)
    elif connections[app].vendor == "postgresql":
        wake = _relay_wakers.setdefault(app, functools.partial(_wake_relays, app))
        if not any(registered is wake for _, registered, _ in connections[app].run_on_commit):
            # robust: the transaction is committed; a failed wake-up leaves the rows to polling.
            transaction.on_commit(wake, using=app, robust=True)


_relay_wakers: dict[str, functools.partial] = {}  # app -> its one on_commit callback


def _wake_relays(app: str) -> None:
    """`NOTIFY` in a transaction of its own, after the data transaction's commit.

    Not inside it: PostgreSQL serializes the notifying transactions of the whole cluster on one
    lock, held through each commit record's flush, which spoils group commit (docs/events.md). A
    transaction that only notifies writes no WAL to flush. A wake-up lost in a crash is left to
    the relays' polling.
    """
    with connections[app].cursor() as cursor:
        cursor.execute("SELECT pg_notify(%s, '')", [relay_channel(app)])


def _notify_trigger(app: str):
    """Create and drop the statement trigger on `app`'s outbox table (PostgreSQL) that NOTIFYed
    its relays inside the inserting transaction, until `_wake_relays` replaced it."""
    table = f"{app}_outboxevent"

    def create(models_state, schema_editor):
        if schema_editor.connection.vendor == "postgresql":
            schema_editor.execute(
                f"CREATE FUNCTION {table}_notify() RETURNS trigger LANGUAGE plpgsql AS "
                f"$$ BEGIN PERFORM pg_notify('{relay_channel(app)}', ''); RETURN NULL; END $$")
            schema_editor.execute(f"CREATE TRIGGER {table}_notify AFTER INSERT ON {table} "
                                  f"FOR EACH STATEMENT EXECUTE FUNCTION {table}_notify()")

    def drop(models_state, schema_editor):
        if schema_editor.connection.vendor == "postgresql":
            schema_editor.execute(f"DROP TRIGGER {table}_notify ON {table}")
            schema_editor.execute(f"DROP FUNCTION {table}_notify()")

    return create, drop


def notify_relays_on_insert(app: str) -> migrations.RunPython:
    """The migration operation that created the trigger (see `_notify_trigger`)."""
    create, drop = _notify_trigger(app)
    return migrations.RunPython(create, drop)


def stop_notifying_relays_on_insert(app: str) -> migrations.RunPython:
    """The migration operation that drops it."""
    create, drop = _notify_trigger(app)
    return migrations.RunPython(drop, create)


def apply_event(app: str, event: CloudEvent) -> bool:
    """Apply one event (see `apply_events`): True when applied now, False when it was applied
    before (a re-delivery) or is a declared type `app` does not handle. Raises why it can never
    be applied."""
    outcome = apply_events(app, [event])
    if outcome.failed:
        raise outcome.failed[0]
    return outcome.applied == 1


@dataclass
class Outcome:
    applied: int = 0
    skipped: int = 0  # applied before (a re-delivery), or a declared type this app does not handle
    retried: int = 0  # attempts again after an unexpected handler error
    failed: dict[int, Exception] = field(default_factory=dict)  # index in the batch: why it never can apply


@dataclass(frozen=True)
class _Pending:
    index: int
    event: CloudEvent
    received: Received


def apply_events(app: str, events: list[CloudEvent]) -> Outcome:
    """Apply a batch of events to `app` in ONE transaction of its database, each at most once.

    The batch is cut into runs of consecutive events of one type (so the order of the partitions
    is kept); each run is one savepoint in which the event ids are recorded in bulk (ids seen
    before are filtered by the same statement) and the handler gets the new ones. An event that
    can never be applied (an undeclared type, invalid data, a domain rule refusing it) fails
    alone: its run is split in halves until it is isolated, the others apply. An unexpected
    handler error gets `EVENT_HANDLER_ATTEMPTS` attempts on the isolated event before it counts
    as failed. A transient error (`is_transient`) rolls the whole batch back and is raised: the
    caller tries the batch again later.
    """
    handlers = handlers_for(app)
    outcome = Outcome()
    pending = []
    for index, event in enumerate(events):
        event_type = event.get_type()
        if event_type not in handlers:
            if is_declared(event_type):
                outcome.skipped += 1
            else:
                outcome.failed[index] = InvalidEvent(f"unknown event type {event_type!r}")
            continue
        try:
            data = handlers[event_type][0].from_data(event.get_data())
        except InvalidEvent as exc:
            outcome.failed[index] = exc
            continue
        pending.append(_Pending(index, event, Received(event.get_id(), event.get_time(), data)))
    if pending:
        with transaction.atomic(using=app):
            for event_type, run in groupby(pending, key=lambda item: item.event.get_type()):
                _apply_run(app, handlers[event_type][1], list(run), outcome)
    return outcome


def _apply_run(app: str, handler: Handler, run: list[_Pending], outcome: Outcome, attempt: int = 1) -> None:
    try:
        with transaction.atomic(using=app):  # a savepoint: a failure undoes this run only
            fresh = _record_processed(app, run)
            if fresh:
                with ExitStack() as spans:
                    for item in fresh:
                        spans.enter_context(event_span(item.event, "process"))
                    handler([item.received for item in fresh])
    except Exception as exc:
        if is_transient(exc):
            raise
        if len(run) > 1:
            middle = len(run) // 2
            _apply_run(app, handler, run[:middle], outcome)
            _apply_run(app, handler, run[middle:], outcome)
        elif isinstance(exc, InvalidEvent | DomainError) or attempt >= settings.EVENT_HANDLER_ATTEMPTS:
            logger.warning("%s: %s %s cannot be applied: %r", app, run[0].event.get_type(),
                           run[0].received.id, exc)
            outcome.failed[run[0].index] = exc
        else:
            outcome.retried += 1
            _apply_run(app, handler, run, outcome, attempt + 1)
        return
    outcome.applied += len(fresh)
    outcome.skipped += len(run) - len(fresh)


def _record_processed(app: str, run: list[_Pending]) -> list[_Pending]:
    """Record the run's event ids as processed in one statement; answer the items whose id was
    not recorded before (the first of each id). A concurrent transaction recording the same id
    makes this one wait for its outcome, so an id is applied by one of them only."""
    model = django_apps.get_model(app, "ProcessedEvent")
    connection = connections[app]
    quote = connection.ops.quote_name
    now = connection.ops.adapt_datetimefield_value(timezone.now())
    first = {}
    for item in run:
        first.setdefault(item.received.id, item)
    ids = sorted(first)  # one order for every transaction: concurrent batches do not deadlock
    # Identifiers are the model's own, quoted; every value is a parameter.
    sql = (
        f"INSERT INTO {quote(model._meta.db_table)} ({quote('event_id')}, {quote('type')}, "  # noqa: S608
        f"{quote('processed_at')}) VALUES {', '.join(['(%s, %s, %s)'] * len(ids))} "
        f"ON CONFLICT ({quote('event_id')}) DO NOTHING RETURNING {quote('event_id')}"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [value for event_id in ids
                             for value in (event_id, first[event_id].event.get_type(), now)])
        recorded = {row[0] for row in cursor.fetchall()}
    return [item for event_id, item in first.items() if event_id in recorded]


TRANSIENT_ERRORS = (*DATABASE_UNAVAILABLE, RedisError, KafkaException, ServiceUnavailable)


def is_transient(exc: BaseException) -> bool:
    """An error of a dependency (database, Redis, Kafka, another app unreachable): trying the same
    thing again later can succeed, so the event must wait, never be dead-lettered."""
    return isinstance(exc, TRANSIENT_ERRORS)


def dispatch_in_process(event: CloudEvent) -> None:
    """Without Kafka, hand the event to the handlers of the apps served in this process."""
    for app in subscribers(event.get_type()):
        apply_event(app, event)
