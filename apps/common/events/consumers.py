"""Kafka consumers that apply events to the apps served in this process.

One consumer group per app (`shop-<app>`) reads the topics of the event types that app handles,
in batches of up to `EVENT_BATCH_SIZE` messages (or what came within `EVENT_BATCH_TIMEOUT_MS`).
Each batch: parse every message with the CloudEvents SDK (structured or binary mode),
`apply_events` them in ONE transaction of the app's database (which records the event ids, so a
re-delivery applies once), dead-letter what can never be applied, and only then commit the
offsets, once, synchronously. Killing the process at any point re-delivers at most the messages
whose offsets were not committed, and those apply once.

Two kinds of failure:
- transient (the database, Redis or Kafka unreachable, a timeout, a lock timeout, a
  serialization failure): nothing is committed; the partitions are rewound and paused, and the
  batch is read again after an exponential back-off with jitter, for as long as it takes. The
  lag gauge keeps growing meanwhile (alert `EventConsumerStalled`).
- poison (not a CloudEvent, an undeclared type, invalid data, a domain rule refusing it, or a
  handler failing `EVENT_HANDLER_ATTEMPTS` times on its own): isolated from the rest of its batch,
  which applies, and sent to `<topic>.dlq` with a `DeadLetter` row.

Consumers run in threads of a Celery worker (see `config/celery.py`) or alone with
`manage.py consume_events --app <app>`.

Each consumer counts what it finished with (`shop_events_consumed_total`: processed,
dead_lettered, and retried: events read again after a transient failure or attempted again
after a handler error) and, every `lag_interval` seconds, sets `shop_consumer_lag` of each
partition it owns: the partition's end minus the group's committed offset. A thread with a
client of its own (which joins no group) asks the broker for them, so the batches never wait
for it (it cost the consuming thread a second and more every interval), and the gauge keeps
moving while the consumer backs off.
"""

import logging
import threading
from collections import Counter
from dataclasses import dataclass

from confluent_kafka import OFFSET_INVALID, Consumer, KafkaError, KafkaException, Message, TopicPartition
from django.conf import settings
from django.db import close_old_connections, connections

from apps.common.events import kafka
from apps.common.events.background import BackgroundLoop, backoff
from apps.common.events.envelope import (
    FORMAT,
    CloudEvent,
    InvalidEvent,
    handlers_for,
    parse_kafka_message,
    topics_consumed_by,
)
from apps.common.events.outbox import apply_events, is_transient
from apps.common.models import DeadLetter
from apps.common.observability import metrics
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
    batches: int = 0  # applied and committed
    offset_commits: int = 0
    transient_failures: int = 0  # batches put back to wait for a dependency


class EventConsumer(BackgroundLoop):
    """Consumes `app`'s topics until `stop()` is called."""

    kind = "consumer"

    def __init__(self, app: str, lag_interval: float = 10.0):
        super().__init__(app)
        self.group_id = f"shop-{app}"
        self.topics = topics_consumed_by(app)
        self.lag_interval = lag_interval
        self.stats = ConsumerStats()  # `ready` is set once partitions are assigned
        self._consumer: Consumer | None = None
        self._owned: frozenset[tuple[str, int]] = frozenset()  # (topic, partition) assigned to us
        self._failures = 0  # transient failures in a row

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
            # Between two polls: one batch, or one back-off (capped well below this).
            "max.poll.interval.ms": 300000,
        })
        self._consumer.subscribe(self.topics, on_assign=self._on_assign, on_revoke=self._on_revoke)
        logger.info("consumer %s reading %s", self.group_id, ", ".join(self.topics))
        done = threading.Event()
        lag_monitor = threading.Thread(target=self._measure_lag_until, args=(done,),
                                       name=f"lag-{self.app}", daemon=True)
        lag_monitor.start()
        try:
            while not self.stopping:
                messages = self._consumer.consume(settings.EVENT_BATCH_SIZE,
                                                  settings.EVENT_BATCH_TIMEOUT_MS / 1000)
                batch = []
                for message in messages:
                    if message.error():
                        self._on_error(message.error())
                    else:
                        batch.append(message)
                if batch:
                    self._process(batch)
        finally:
            done.set()
            lag_monitor.join()  # before the client it uses is closed
            self._consumer.close()  # leaves the group at once, so partitions move without waiting
            connections.close_all()  # this thread's connections
            logger.info("consumer %s stopped", self.group_id)

    def _on_assign(self, consumer: Consumer, partitions: list[TopicPartition]) -> None:
        self._owned |= {(partition.topic, partition.partition) for partition in partitions}
        self.ready.set()

    def _on_revoke(self, consumer: Consumer, partitions: list[TopicPartition]) -> None:
        self._owned -= {(partition.topic, partition.partition) for partition in partitions}

    def _measure_lag_until(self, done: threading.Event) -> None:
        # Not the consuming client: its broker calls would wait behind a blocking consume().
        client = Consumer({**kafka.client_config(), "group.id": self.group_id, "enable.auto.commit": False,
                           "client.id": f"{settings.SERVICE_NAME}-{self.app}-lag"})
        try:
            while not done.wait(self.lag_interval):
                self._measure_lag(client, done)
        finally:
            client.close()

    def _measure_lag(self, client: Consumer, done: threading.Event) -> None:
        owned = [TopicPartition(topic, partition) for topic, partition in sorted(self._owned)]
        try:
            for position in client.committed(owned, timeout=2) if owned else []:
                if done.is_set():  # the consumer is stopping: do not hold its shutdown
                    return
                low, high = client.get_watermark_offsets(position, timeout=2)
                # No offset committed yet: everything still on the partition is behind.
                start = position.offset if position.offset != OFFSET_INVALID else low
                metrics.CONSUMER_LAG.labels(topic=position.topic, partition=str(position.partition),
                                            app=self.app).set(max(high - start, 0))
        except KafkaException as exc:  # the broker is slow or away: measure again next time
            logger.info("consumer %s: lag not measured: %s", self.group_id, exc)

    def _count(self, topic: str, outcome: str, amount: int = 1) -> None:
        if amount:
            metrics.EVENTS_CONSUMED.labels(topic=topic, app=self.app, outcome=outcome).inc(amount)

    def _on_error(self, error: KafkaError) -> None:
        if error.fatal():
            raise KafkaException(error)
        logger.warning("consumer %s: %s", self.group_id, error)

    def _process(self, batch: list[Message]) -> None:
        """Apply `batch`, dead-letter what can never be applied, then commit its offsets once.

        A transient error (the database, Redis or Kafka unreachable or timing out) commits
        nothing: the partitions are rewound and paused, the consumer backs off with jitter, then
        reads the same messages again, for as long as it takes. Nothing is dead-lettered for it.
        """
        try:
            self._apply(batch)
        except Exception as exc:
            if not is_transient(exc):
                raise
            self._failures += 1
            self.stats.transient_failures += 1
            logger.warning("%s: %d event(s) wait after %s: %s (failure %d in a row)", self.group_id,
                           len(batch), type(exc).__name__, exc, self._failures)
            self._count(batch[0].topic(), "retried", len(batch))
            self._rewind(batch)
            self._pause(backoff(self._failures, settings.EVENT_HANDLER_BACKOFF_SECONDS))
        else:
            self._failures = 0

    def _apply(self, batch: list[Message]) -> None:
        close_old_connections()
        parsed, poison = [], []
        for message in batch:
            try:
                parsed.append((message, parse_kafka_message(message)))
            except InvalidEvent as exc:
                poison.append((message, None, f"InvalidEvent: {exc}"))
        outcome = apply_events(self.app, [event for _, event in parsed])
        for index, error in sorted(outcome.failed.items()):
            message, event = parsed[index]
            poison.append((message, event, f"{type(error).__name__}: {error}"))
        if poison:
            self._dead_letter(poison)
        self._commit(batch)
        self.stats.applied += outcome.applied
        self.stats.skipped += outcome.skipped
        self.stats.batches += 1
        dead = {id(message) for message, _, _ in poison}
        for topic, count in Counter(m.topic() for m in batch if id(m) not in dead).items():
            self._count(topic, "processed", count)
        self._count(batch[0].topic(), "retried", outcome.retried)

    def _rewind(self, batch: list[Message]) -> None:
        """Seek each partition of `batch` back to its first message, to read them again."""
        first: dict[tuple[str, int], int] = {}
        for message in batch:
            first.setdefault((message.topic(), message.partition()), message.offset())
        for (topic, partition), offset in first.items():
            try:
                self._consumer.seek(TopicPartition(topic, partition, offset))
            except KafkaException as exc:
                # No longer ours (a rebalance): its next owner starts from the committed offset.
                logger.info("%s: not rewinding %s[%d]: %s", self.group_id, topic, partition, exc)

    def _pause(self, seconds: float) -> None:
        """Fetch nothing for `seconds` (or until asked to stop)."""
        assignment = self._consumer.assignment()
        self._consumer.pause(assignment)
        try:
            self._stopping.wait(seconds)
        finally:
            self._consumer.resume(assignment)

    def _dead_letter(self, poison: list[tuple[Message, CloudEvent | None, str]]) -> None:
        """Publish each to `<topic>.dlq` with its original headers, and record `DeadLetter` rows.

        Raises (a transient error) unless every one is in the DLQ topic and the table, so that
        the batch comes round again rather than committing past a message that went nowhere.
        """
        producer = kafka.producer()
        reports = []
        for message, _, error in poison:
            logger.error("%s: dead-lettering %s[%d]@%d: %s", self.group_id,
                         message.topic(), message.partition(), message.offset(), error)
            headers = {
                "dlq_error": error[:1000],
                "dlq_original_topic": message.topic(),
                "dlq_original_partition": str(message.partition()),
                "dlq_original_offset": str(message.offset()),
                "dlq_consumer_app": self.app,
            }
            producer.produce(
                kafka.dlq_topic(message.topic()), key=message.key(), value=message.value(),
                headers=[*(message.headers() or []), *headers.items()],
                on_delivery=lambda err, msg: reports.append(err),
            )
        producer.flush(settings.KAFKA_DELIVERY_TIMEOUT_SECONDS + 5)
        if len(reports) < len(poison) or any(reports):
            failed = next((error for error in reports if error), KafkaError(KafkaError._TIMED_OUT))
            raise KafkaException(failed)
        close_old_connections()
        # ignore_conflicts: a consumer that died before committing the offsets recorded them already.
        DeadLetter.objects.bulk_create([
            DeadLetter(
                consumer_app=self.app, topic=message.topic(), partition=message.partition(),
                # Cut to the columns' sizes: a poison message may carry anything.
                offset=message.offset(), key=(message.key() or b"").decode(errors="replace")[:200],
                # The whole event (the JSON format, whichever mode it came in), so a replay is complete.
                payload=(FORMAT.write(event) if event else message.value() or b"").decode(errors="replace"),
                event_id=event.get_id()[:255] if event else "",
                event_type=event.get_type()[:200] if event else "", error=error,
            )
            for message, event, error in poison
        ], ignore_conflicts=True)
        self.stats.dead_lettered += len(poison)
        for topic, count in Counter(message.topic() for message, _, _ in poison).items():
            self._count(topic, "dead_lettered", count)

    def _commit(self, batch: list[Message]) -> None:
        """Commit, once and synchronously, past the last message of each partition in `batch`."""
        last: dict[tuple[str, int], int] = {}
        for message in batch:
            last[(message.topic(), message.partition())] = message.offset()
        self._consumer.commit(offsets=[TopicPartition(topic, partition, offset + 1)
                                       for (topic, partition), offset in last.items()], asynchronous=False)
        self.stats.offset_commits += 1
        metrics.CONSUMER_OFFSET_COMMITS.labels(app=self.app).inc()

