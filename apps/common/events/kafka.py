"""Kafka clients for this process: one lazily created producer, topic creation, consumer config.

Clients are created on first use, never at import, and forgotten in a forked child (gunicorn and
Celery pre-fork workers), because librdkafka's threads do not survive a fork. Every producer,
consumer and admin client takes `client_config()`: the brokers, TLS and SASL (SCRAM, or AWS MSK
IAM through an OAUTHBEARER token callback), so one setting reaches them all.
"""

import logging
import os
import threading
from functools import partial

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


class KafkaConfigError(RuntimeError):
    """The cluster cannot hold topics as configured (KAFKA_REPLICATION_FACTOR above its brokers)."""


def client_config() -> dict:
    """librdkafka settings every client of this process starts from."""
    config = {
        "bootstrap.servers": settings.KAFKA_BOOTSTRAP_SERVERS,
        "security.protocol": settings.KAFKA_SECURITY_PROTOCOL,
        "logger": LIBRDKAFKA_LOGGER,
    }
    mechanism = settings.KAFKA_SASL_MECHANISM
    if mechanism == "OAUTHBEARER":
        config.update({"sasl.mechanism": mechanism, "oauth_cb": partial(msk_iam_token, settings.AWS_REGION)})
    elif mechanism:
        config.update({"sasl.mechanism": mechanism, "sasl.username": settings.KAFKA_SASL_USERNAME,
                       "sasl.password": settings.KAFKA_SASL_PASSWORD})
    return config


def msk_iam_token(region: str, oauthbearer_config: str | None = None) -> tuple[str, float]:
    """librdkafka's `oauth_cb` for AWS MSK IAM: a token signed locally (SigV4) with the credentials
    boto3 finds (the pod's IAM role, or AWS_* variables), and when it expires, in epoch seconds."""
    from aws_msk_iam_sasl_signer import MSKAuthTokenProvider  # boto3: 0.25 s, only where IAM is used

    token, expires_ms = MSKAuthTokenProvider.generate_auth_token(region)
    return token, expires_ms / 1000


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

    New topics get KAFKA_PARTITIONS, KAFKA_REPLICATION_FACTOR and KAFKA_MIN_INSYNC_REPLICAS.
    The broker may not auto-create topics (Tansu does not; production clusters often forbid it).
    Raises KafkaConfigError when the cluster has fewer brokers than the replication factor.
    """
    wanted = {name for topic in topics for name in (topic, dlq_topic(topic))} - _ensured_topics
    if not wanted:
        return []
    admin = AdminClient(client_config())
    metadata = admin.list_topics(timeout=timeout)
    check_replication(len(metadata.brokers))
    missing = sorted(wanted - set(metadata.topics))
    created = []
    if missing:
        topic_config = {"min.insync.replicas": str(settings.KAFKA_MIN_INSYNC_REPLICAS)}
        futures = admin.create_topics(
            [NewTopic(name, partitions or settings.KAFKA_PARTITIONS, settings.KAFKA_REPLICATION_FACTOR,
                      config=topic_config) for name in missing],
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


def check_replication(brokers: int) -> None:
    if brokers < settings.KAFKA_REPLICATION_FACTOR:
        raise KafkaConfigError(
            f"KAFKA_REPLICATION_FACTOR is {settings.KAFKA_REPLICATION_FACTOR} but the Kafka cluster at "
            f"{settings.KAFKA_BOOTSTRAP_SERVERS} has {brokers} broker(s): topics cannot be created.")


def check_broker(timeout: float = 2.0) -> None:
    """Raise unless the broker answers a metadata request within `timeout` and has brokers enough
    for KAFKA_REPLICATION_FACTOR (for /readyz and check_services)."""
    metadata = producer().list_topics(timeout=timeout)
    if not metadata.brokers:
        raise KafkaException(KafkaError(KafkaError._TRANSPORT, "no broker in metadata"))
    check_replication(len(metadata.brokers))
