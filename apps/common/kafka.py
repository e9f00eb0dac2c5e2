"""Kafka clients for this process: one lazily created producer, topic creation, consumer config.

Clients are created on first use, never at import, and forgotten in a forked child (gunicorn and
Celery pre-fork workers), because librdkafka's threads do not survive a fork.
"""

import logging
import os
import threading

from confluent_kafka import KafkaError, KafkaException, Producer
from confluent_kafka.admin import AdminClient, NewTopic
from django.conf import settings

logger = logging.getLogger(__name__)

DLQ_SUFFIX = ".dlq"

_lock = threading.Lock()
_producer: Producer | None = None
_ensured_topics: set[str] = set()


def dlq_topic(topic: str) -> str:
    return f"{topic}{DLQ_SUFFIX}"


# librdkafka's own log lines go through Python logging (JSON, redacted), not raw to stderr.
LIBRDKAFKA_LOGGER = logging.getLogger("librdkafka")


def client_config() -> dict:
    return {"bootstrap.servers": settings.KAFKA_BOOTSTRAP_SERVERS, "logger": LIBRDKAFKA_LOGGER}


def producer() -> Producer:
    """This process's idempotent producer (acks=all: a report of success means replicated)."""
    global _producer
    with _lock:
        if _producer is None:
            _producer = Producer({
                **client_config(),
                "enable.idempotence": True,
                "acks": "all",
                "linger.ms": 5,
                # A message not delivered by then fails its delivery report; its outbox row
                # stays unsent and a later relay tries again.
                "message.timeout.ms": int(settings.KAFKA_DELIVERY_TIMEOUT_SECONDS * 1000),
                "error_cb": _on_client_error,
            })
        return _producer


def _on_client_error(error: KafkaError) -> None:
    if error.fatal():
        # An idempotent producer that lost its sequence state cannot go on: start a new one.
        logger.error("Kafka producer fatal error, discarding it: %s", error)
        forget_clients()
    else:
        # Transport errors repeat every reconnect attempt while the broker is down.
        logger.info("Kafka client error: %s", error)


def forget_clients() -> None:
    global _producer
    with _lock:
        _producer = None
        _ensured_topics.clear()


os.register_at_fork(after_in_child=forget_clients)


def close_clients() -> None:
    """Shut this process's producer down now (dropping what it still holds): it stops trying to
    reach a broker that is gone. For a process that is done with Kafka, such as a test."""
    with _lock:
        if _producer is not None:
            _producer.purge()
            _producer.close()
    forget_clients()


def ensure_topics(topics, partitions: int | None = None, timeout: float = 10.0) -> list[str]:
    """Create whichever of `topics` (and their `.dlq`) do not exist yet; return those created.

    The broker may not auto-create topics (Tansu does not; production clusters often forbid it).
    """
    wanted = {name for topic in topics for name in (topic, dlq_topic(topic))} - _ensured_topics
    if not wanted:
        return []
    admin = AdminClient(client_config())
    existing = set(admin.list_topics(timeout=timeout).topics)
    missing = sorted(wanted - existing)
    created = []
    if missing:
        partitions = partitions or settings.KAFKA_TOPIC_PARTITIONS
        futures = admin.create_topics(
            [NewTopic(name, partitions, settings.KAFKA_REPLICATION_FACTOR) for name in missing],
            request_timeout=timeout,
        )
        for name, future in futures.items():
            try:
                future.result(timeout=timeout)
                created.append(name)
            except KafkaException as exc:
                # Another process created it between our listing and our request.
                if exc.args[0].code() != KafkaError.TOPIC_ALREADY_EXISTS:
                    raise
    _ensured_topics.update(wanted)
    return created


def check_broker(timeout: float = 2.0) -> None:
    """Raise unless the broker answers a metadata request within `timeout` (for /readyz)."""
    metadata = producer().list_topics(timeout=timeout)
    if not metadata.brokers:
        raise KafkaException(KafkaError(KafkaError._TRANSPORT, "no broker in metadata"))
