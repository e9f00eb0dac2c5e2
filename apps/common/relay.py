"""Moves committed outbox rows to their consumers.

With `KAFKA_BOOTSTRAP_SERVERS` set, rows are published to Kafka: claimed with
`select_for_update(skip_locked=True)` (so relays in several processes share the work, and a row
committed late by a slow transaction is still picked up: never "id > last seen"), produced with
the aggregate id as key, and marked sent only when the broker acknowledged them. A row that fails
stays unsent with its error and is tried again by the next relay: Kafka being down delays events,
it never loses them.

Without Kafka (the embedded default) rows are handed to the handlers of the apps served in this
process, with the same idempotency, so one process shows the whole flow.
"""

import logging
from collections.abc import Callable

from confluent_kafka import KafkaException
from django.apps import apps as django_apps
from django.conf import settings
from django.db import transaction
from django.db.models import F
from django.utils import timezone
from opentelemetry.trace import SpanKind

from apps.common import kafka, metrics
from apps.common.events import kafka_message
from apps.common.outbox import OutboxEventBase, dispatch_in_process, outbox_model
from apps.common.telemetry import event_span
from config.service_apps import served_apps

logger = logging.getLogger(__name__)


class RelayError(RuntimeError):
    """Some claimed rows could not be published; they stay unsent."""


def publishing_apps(among=None) -> list[str]:
    """The apps (served here, by default) that publish events: they have an outbox."""
    return [
        app for app in (served_apps() if among is None else among)
        if any(issubclass(model, OutboxEventBase) for model in django_apps.get_app_config(app).get_models())
    ]


def relay_outbox(app: str, batch_size: int = 200, progress: Callable[[int], None] | None = None) -> int:
    """Relay every unsent event of `app`; return how many went out. `progress` is told how many
    went out after each batch.

    Raises `RelayError` when a batch could not be delivered completely; what was delivered is
    marked sent and each failed row records its attempt and error, staying unsent.
    """
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
        if progress is not None:
            progress(len(rows) - len(failures))
        if failures:
            metrics.EVENTS_RELAYED.labels(app=app, outcome="failed").inc(len(failures))
            raise RelayError(
                f"{app}: {len(failures)} of {len(rows)} event(s) not delivered "
                f"({relayed} relayed in this run); first error: {next(iter(failures.values()))}"
            )


def _dispatch_in_process(app: str, rows: list) -> dict:
    for row in rows:
        dispatch_in_process(row.event)
    sent = [row.pk for row in rows]
    outbox_model(app).objects.using(app).filter(pk__in=sent).update(sent_at=timezone.now())
    return {}


def _publish(app: str, rows: list) -> dict:
    """Produce `rows` and mark those the broker acknowledged; return {row pk: error} for the rest."""
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
            event = row.event
            key, value, headers = kafka_message(row.key, event)
            with event_span(event, "publish", SpanKind.PRODUCER):
                producer.produce(
                    row.topic, key=key, value=value, headers=headers, on_delivery=on_delivery(row.pk),
                )
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


def nudge(app: str) -> None:
    """Called after a commit that emitted events. Never fails the request that committed."""
    try:
        if settings.KAFKA_BOOTSTRAP_SERVERS:
            from apps.common.tasks import relay_outbox_task

            # Stale nudges are dropped: the beat relays anyway.
            relay_outbox_task.apply_async((app,), expires=60)
        else:
            relay_outbox(app)
    except Exception:
        # The rows stay unsent; the next nudge, the beat or `manage.py relay_outbox` retries them.
        logger.exception("relaying %s's outbox failed", app)
