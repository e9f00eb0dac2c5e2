"""Kafka consumers that apply events to the apps served in this process.

One consumer group per app (`shop-<app>`) reads the CloudEvents topics that app handles. For each
message: parse the CloudEvent, `apply_event` it in the app's own database transaction (which
records the event id, so a re-delivery applies once), and only then commit the offset,
synchronously. A handler that keeps failing is retried with exponential backoff; then the message
goes to `<topic>.dlq` and a `DeadLetter` row, and its offset is committed. A message that is not a
CloudEvent goes there at once. Killing the process at any point re-delivers at most the messages
whose offsets were not committed, and those apply once.

Consumers run in threads of a Celery worker (see `config/celery.py`) or alone with
`manage.py consume_events --app <app>`.

Each consumer counts what it finished with (`shop_events_consumed_total`: processed, retried,
dead_lettered) and, every `lag_interval` seconds between messages, sets `shop_consumer_lag` of
each partition it owns: the partition's end minus the group's committed offset.
"""

import logging
import threading
import time
from dataclasses import dataclass

from confluent_kafka import OFFSET_INVALID, Consumer, KafkaError, KafkaException, Message
from django.conf import settings
from django.db import close_old_connections, connections

from apps.common import kafka, metrics
from apps.common.events import CloudEvent, InvalidEvent, handlers_for, topics_consumed_by
from apps.common.models import DeadLetter
from apps.common.outbox import apply_event
from config.service_apps import served_apps

logger = logging.getLogger(__name__)


def consuming_apps() -> list[str]:
    """The apps served here that handle events."""
    return [app for app in served_apps() if handlers_for(app)]


@dataclass
class ConsumerStats:
    applied: int = 0
    skipped: int = 0  # applied before (a re-delivery) or a type this app does not handle
    dead_lettered: int = 0


class EventConsumer:
    """Consumes `app`'s topics until `stop()` is called."""

    def __init__(self, app: str, poll_timeout: float = 1.0, lag_interval: float = 10.0):
        self.app = app
        self.group_id = f"shop-{app}"
        self.topics = topics_consumed_by(app)
        self.poll_timeout = poll_timeout
        self.lag_interval = lag_interval
        self._lag_measured_at = float("-inf")
        self.stats = ConsumerStats()
        self.ready = threading.Event()  # set once partitions are assigned
        self._stopping = threading.Event()
        self._consumer: Consumer | None = None

    def stop(self) -> None:
        self._stopping.set()

    @property
    def stopping(self) -> bool:
        return self._stopping.is_set()

    def run(self) -> None:
        if not self.topics:
            raise ValueError(f"{self.app} handles no events")
        kafka.ensure_topics(self.topics)
        self._consumer = Consumer({
            **kafka.client_config(),
            "group.id": self.group_id,
            "client.id": f"{settings.SERVICE_NAME}-{self.app}",
            "enable.auto.commit": False,
            "auto.offset.reset": "earliest",
            "session.timeout.ms": 6000,
            "heartbeat.interval.ms": 1000,
            # A handler may back off for a while before the next poll.
            "max.poll.interval.ms": 300000,
        })
        self._consumer.subscribe(self.topics, on_assign=lambda consumer, partitions: self.ready.set())
        logger.info("consumer %s reading %s", self.group_id, ", ".join(self.topics))
        try:
            while not self.stopping:
                self._measure_lag_when_due()
                message = self._consumer.poll(self.poll_timeout)
                if message is None:
                    continue
                if message.error():
                    self._on_error(message.error())
                    continue
                self._handle(message)
        finally:
            self._consumer.close()  # leaves the group at once, so partitions move without waiting
            connections.close_all()  # this thread's connections
            logger.info("consumer %s stopped", self.group_id)

    def run_forever(self, restart_pause: float = 5.0) -> None:
        """`run`, started again after a crash (the broker unreachable at start, a fatal error)."""
        while not self.stopping:
            try:
                self.run()
            except Exception:
                logger.exception("consumer %s crashed; restarting", self.group_id)
                self._stopping.wait(restart_pause)

    def _measure_lag_when_due(self) -> None:
        if time.monotonic() - self._lag_measured_at < self.lag_interval:
            return
        self._lag_measured_at = time.monotonic()
        try:
            assigned = self._consumer.assignment()
            for position in self._consumer.committed(assigned, timeout=2) if assigned else []:
                low, high = self._consumer.get_watermark_offsets(position, timeout=2)
                # No offset committed yet: everything still on the partition is behind.
                start = position.offset if position.offset != OFFSET_INVALID else low
                metrics.CONSUMER_LAG.labels(topic=position.topic, partition=str(position.partition),
                                            app=self.app).set(max(high - start, 0))
        except KafkaException as exc:  # the broker is slow or away: measure again next time
            logger.info("consumer %s: lag not measured: %s", self.group_id, exc)

    def _count(self, topic: str, outcome: str) -> None:
        metrics.EVENTS_CONSUMED.labels(topic=topic, app=self.app, outcome=outcome).inc()

    def _on_error(self, error: KafkaError) -> None:
        if error.fatal():
            raise KafkaException(error)
        logger.warning("consumer %s: %s", self.group_id, error)

    def _handle(self, message: Message) -> None:
        try:
            event = CloudEvent.from_json(message.value())
        except InvalidEvent as exc:
            self._dead_letter(message, None, f"InvalidEvent: {exc}")
            return
        error = self._apply_with_retries(event, message.topic())
        if error is None:
            self._commit(message)
            self._count(message.topic(), "processed")
        elif not self.stopping:
            self._dead_letter(message, event, error)
        # Stopped mid-retry: the offset stays uncommitted and the next consumer tries again.

    def _apply_with_retries(self, event: CloudEvent, topic: str) -> str | None:
        """Apply `event`; return None on success, else the last error (after every attempt, or
        when asked to stop while backing off)."""
        attempts = settings.EVENT_HANDLER_ATTEMPTS
        for attempt in range(1, attempts + 1):
            close_old_connections()
            try:
                applied = apply_event(self.app, event)
            except Exception as exc:  # any handler failure is retried, then dead-lettered
                error = f"{type(exc).__name__}: {exc}"
                logger.warning("%s: %s %s failed (attempt %d/%d): %s",
                               self.group_id, event.type, event.id, attempt, attempts, error)
            else:
                if applied:
                    self.stats.applied += 1
                else:
                    self.stats.skipped += 1
                return None
            finally:
                close_old_connections()
            if attempt == attempts:
                break
            self._count(topic, "retried")
            if self._stopping.wait(self._backoff(attempt)):
                break
        return error

    @staticmethod
    def _backoff(attempt: int) -> float:
        return settings.EVENT_HANDLER_BACKOFF_SECONDS * 2 ** (attempt - 1)

    def _dead_letter(self, message: Message, event: CloudEvent | None, error: str) -> None:
        """Publish to `<topic>.dlq`, record a `DeadLetter`, then commit past the message."""
        logger.error("%s: dead-lettering %s[%d]@%d: %s", self.group_id,
                     message.topic(), message.partition(), message.offset(), error)
        headers = {
            "dlq_error": error[:1000],
            "dlq_original_topic": message.topic(),
            "dlq_original_partition": str(message.partition()),
            "dlq_original_offset": str(message.offset()),
            "dlq_consumer_app": self.app,
        }
        producer = kafka.producer()
        reports = []
        producer.produce(
            kafka.dlq_topic(message.topic()), key=message.key(), value=message.value(),
            headers=[*(message.headers() or []), *headers.items()],
            on_delivery=lambda err, msg: reports.append(err),
        )
        producer.flush(settings.KAFKA_DELIVERY_TIMEOUT_SECONDS + 5)
        if reports != [None]:
            # Not in the DLQ: fail without committing, so the message comes round again.
            raise KafkaException(reports[0] if reports else KafkaError(KafkaError._TIMED_OUT))
        close_old_connections()
        # get_or_create: a consumer that died before committing the offset recorded it already.
        DeadLetter.objects.get_or_create(
            consumer_app=self.app, topic=message.topic(), partition=message.partition(),
            offset=message.offset(),
            defaults={
                "key": (message.key() or b"").decode(errors="replace"),
                "payload": (message.value() or b"").decode(errors="replace"),
                "event_id": event.id if event else "",
                "event_type": event.type if event else "",
                "error": error,
            },
        )
        self.stats.dead_lettered += 1
        self._commit(message)
        self._count(message.topic(), "dead_lettered")

    def _commit(self, message: Message) -> None:
        self._consumer.commit(message=message, asynchronous=False)
        metrics.CONSUMER_OFFSET_COMMITS.labels(app=self.app).inc()


def start_in_threads(consumers: list[EventConsumer]) -> list[threading.Thread]:
    """Run each consumer in a daemon thread; one that crashes starts again after a pause."""
    threads = []
    for consumer in consumers:
        thread = threading.Thread(
            target=consumer.run_forever, name=f"consumer-{consumer.app}", daemon=True,
        )
        thread.start()
        threads.append(thread)
    return threads
