"""Moves committed outbox rows to their consumers.

With `KAFKA_BOOTSTRAP_SERVERS` set, rows are published to Kafka: claimed with
`select_for_update(skip_locked=True)` (so relays in several processes share the work, and a row
committed late by a slow transaction is still picked up: never "id > last seen"), produced with
the aggregate id as key, flushed once per batch, and marked sent only when the broker acknowledged
them. A row that fails stays unsent with its error and is tried again by the next pass: Kafka
being down delays events, it never loses them.

`OutboxRelay` is the long-lived loop that does this for one app (threads of the Celery worker, or
`manage.py relay_outbox --follow`): it sleeps on PostgreSQL `LISTEN` for the notification that
the outbox table's insert trigger sends inside the committing transaction (delivered at
commit), and polls every `OUTBOX_RELAY_POLL_SECONDS` as a fallback (SQLite: polling only).

Without Kafka (the embedded default) rows are handed to the handlers of the apps served in this
process, with the same idempotency, so one process shows the whole flow.
"""

import logging
import time
from collections.abc import Callable

import psycopg
from confluent_kafka import KafkaException, Producer
from django.apps import apps as django_apps
from django.conf import settings
from django.db import close_old_connections, connections, transaction
from django.db.models import F
from django.utils import timezone
from opentelemetry.trace import SpanKind

from apps.common.events import kafka
from apps.common.events.background import BackgroundLoop, backoff
from apps.common.events.envelope import kafka_message
from apps.common.events.outbox import OutboxEventBase, dispatch_in_process, outbox_model, relay_channel
from apps.common.observability import metrics
from apps.common.observability.telemetry import event_span
from config.service_apps import served_apps

logger = logging.getLogger(__name__)

# How often a waiting relay looks at its stop flag; it queries the outbox only when notified or
# when its polling interval is up.
STOP_CHECK_SECONDS = 1.0


class RelayError(RuntimeError):
    """Some claimed rows could not be published; they stay unsent."""


def publishing_apps(among=None) -> list[str]:
    """The apps (served here, by default) that publish events: they have an outbox."""
    return [
        app for app in (served_apps() if among is None else among)
        if any(issubclass(model, OutboxEventBase) for model in django_apps.get_app_config(app).get_models())
    ]


def relay_outbox(app: str, batch_size: int | None = None,
                 progress: Callable[[int], None] | None = None) -> int:
    """Relay every unsent event of `app` committed before it started; return how many went out.
    `progress` is told how many went out after each batch. A batch shorter than `batch_size`
    ends it: rows committed later come with their own notification.

    Raises `RelayError` when a batch could not be delivered completely; what was delivered is
    marked sent and each failed row records its attempt and error, staying unsent.
    """
    batch_size = batch_size or settings.OUTBOX_RELAY_BATCH_SIZE
    relayed = 0
    while True:
        with transaction.atomic(using=app):
            rows = list(
                outbox_model(app).objects.using(app).select_for_update(skip_locked=True)
                .filter(sent_at__isnull=True).order_by("created_at")[:batch_size]
            )
            if not rows:
                return relayed
            if settings.KAFKA_BOOTSTRAP_SERVERS:
                # Published while the rows are locked, so no other relay sends them meanwhile.
                failures = _publish(app, rows)
        if not settings.KAFKA_BOOTSTRAP_SERVERS:
            # Handlers write other apps' databases, so they run after this app's transaction; a
            # second relay racing for the same rows is harmless because handlers apply once.
            failures = _dispatch_in_process(app, rows)
        relayed += len(rows) - len(failures)
        metrics.EVENTS_RELAYED.labels(app=app, outcome="published").inc(len(rows) - len(failures))
        metrics.RELAY_BATCH_SIZE.labels(app=app).observe(len(rows))
        if progress is not None:
            progress(len(rows) - len(failures))
        if failures:
            metrics.EVENTS_RELAYED.labels(app=app, outcome="failed").inc(len(failures))
            raise RelayError(
                f"{app}: {len(failures)} of {len(rows)} event(s) not delivered "
                f"({relayed} relayed in this run); first error: {next(iter(failures.values()))}"
            )
        if len(rows) < batch_size:
            return relayed


def relay_in_process(sender: str, **kwargs) -> None:
    """Embedded mode, after commit (`outbox.committed_in_process`; the sender is the app): apply
    what the app just committed. Never fails the request that committed: a row left unsent is
    retried by the relay loop's polling or `manage.py relay_outbox`."""
    try:
        relay_outbox(sender)
    except Exception:
        logger.exception("relaying %s's outbox failed", sender)


def _dispatch_in_process(app: str, rows: list) -> dict:
    for row in rows:
        dispatch_in_process(row.event)
    sent = [row.pk for row in rows]
    outbox_model(app).objects.using(app).filter(pk__in=sent).update(sent_at=timezone.now())
    return {}


def _publish(app: str, rows: list) -> dict:
    """Produce `rows`, flush once, and mark those the broker acknowledged; return {row pk: error}
    for the rest."""
    reports: dict = {}
    try:
        kafka.ensure_topics({row.topic for row in rows})
    except KafkaException as exc:  # the broker is unreachable: nothing can be sent now
        return _record_failures(app, rows, dict.fromkeys((row.pk for row in rows), str(exc)))
    producer = kafka.producer()

    def on_delivery(row_pk):
        def report(error, message):
            reports[row_pk] = str(error) if error else None
        return report

    unreported = "no delivery report before the flush timeout"
    try:
        for row in rows:
            _produce(producer, row, on_delivery(row.pk))
            producer.poll(0)
        producer.flush(settings.KAFKA_DELIVERY_TIMEOUT_SECONDS + 5)
    except Exception as exc:
        # A fatal producer error (e.g. a rebuilt broker that forgot our idempotent producer id):
        # what was acknowledged is sent, the rest waits for the next relay and a new producer.
        logger.warning("%s: Kafka producer failed, replacing it: %s", app, exc)
        kafka.forget_clients()
        unreported = f"{type(exc).__name__}: {exc}"

    delivered = {pk for pk, error in reports.items() if error is None}
    outbox_model(app).objects.using(app).filter(pk__in=delivered).update(sent_at=timezone.now())
    failures = {row.pk: reports.get(row.pk) or unreported for row in rows if row.pk not in delivered}
    return _record_failures(app, rows, failures)


def _produce(producer: Producer, row, on_delivery: Callable) -> None:
    """Hand one outbox row to the producer (not yet flushed)."""
    event = row.event
    key, value, headers = kafka_message(row.key, event)
    with event_span(event, "publish", SpanKind.PRODUCER):
        producer.produce(row.topic, key=key, value=value, headers=headers, on_delivery=on_delivery)


def _record_failures(app: str, rows: list, failures: dict) -> dict:
    outbox = outbox_model(app).objects.using(app)
    for pk, error in failures.items():
        outbox.filter(pk=pk).update(attempts=F("attempts") + 1, last_error=error[:2000])
    if failures:
        # The broker may have been rebuilt: its topics gone, and our idempotent producer's id
        # unknown to it, which left that producer timing out every message. Start afresh.
        kafka.forget_clients()
        logger.warning("%s: %d of %d outbox events not delivered", app, len(failures), len(rows))
    return failures


class OutboxRelay(BackgroundLoop):
    """Relays `app`'s outbox until `stop()`: at start, whenever a commit notifies it, and every
    `poll_interval` seconds in case a notification was missed (the listener reconnecting, a row
    committed by a process that does not notify). Several may run, in any processes: rows are
    claimed with SKIP LOCKED, so each is sent by one of them."""

    kind = "relay"

    def __init__(self, app: str, poll_interval: float | None = None, batch_size: int | None = None):
        super().__init__(app)
        self.poll_interval = poll_interval or settings.OUTBOX_RELAY_POLL_SECONDS
        self.batch_size = batch_size or settings.OUTBOX_RELAY_BATCH_SIZE
        self.relayed = 0  # `ready` is set once listening (or polling) for new rows
        self._failures = 0
        self._connections_checked_at = float("-inf")

    def run(self) -> None:
        listener = self._listen()
        logger.info("relay %s %s", self.app,
                    f"listening on {relay_channel(self.app)}" if listener else "polling")
        self.ready.set()
        try:
            while not self.stopping:
                self._relay_pending()
                if self._failures:
                    # The broker is away: back off instead of spinning on it; rows stay unsent.
                    self._stopping.wait(backoff(self._failures, base=1.0))
                else:
                    self._wait_for_rows(listener)
        finally:
            self.ready.clear()
            if listener is not None:
                listener.close()
            connections.close_all()  # this thread's connections
            logger.info("relay %s stopped", self.app)

    def _listen(self) -> psycopg.Connection | None:
        """A connection of its own that LISTENs on the app's channel; None on SQLite."""
        database = connections[self.app]
        if database.vendor != "postgresql":
            return None
        # Not Django's connection: that one is closed and reopened between requests or borrowed
        # from a pool, and LISTEN lasts only as long as its session.
        listener = psycopg.connect(**database.get_connection_params(), autocommit=True)
        listener.execute(f"LISTEN {relay_channel(self.app)}")
        return listener

    def _relay_pending(self) -> None:
        # Connections past CONN_MAX_AGE or broken are dropped at most once per polling interval:
        # each check costs the next query a health check, and a busy relay passes many times a
        # second. A connection that fails meanwhile crashes the pass, and `run` closes them all.
        if time.monotonic() - self._connections_checked_at >= self.poll_interval:
            close_old_connections()
            self._connections_checked_at = time.monotonic()
        try:
            self.relayed += relay_outbox(self.app, self.batch_size)
            self._failures = 0
        except RelayError as exc:
            self._failures += 1
            logger.warning("relay %s: %s", self.app, exc)

    def _wait_for_rows(self, listener: psycopg.Connection | None) -> None:
        """Return when a commit notified the channel, the polling interval is up, or on stop."""
        waited = 0.0
        while waited < self.poll_interval and not self.stopping:
            step = min(STOP_CHECK_SECONDS, self.poll_interval - waited)
            if listener is None:
                self._stopping.wait(step)
            elif list(listener.notifies(timeout=step, stop_after=1)):
                # One pass relays every row committed so far: drop the notifications queued
                # behind this one instead of waking once for each.
                for _ in listener.notifies(timeout=0):
                    pass
                return
            waited += step

