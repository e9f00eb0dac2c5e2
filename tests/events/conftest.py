import threading
import time
import uuid
from contextlib import contextmanager

import prometheus_client
import pytest
from confluent_kafka import Consumer, Producer, TopicPartition

from apps.common.events import kafka
from apps.common.events.consumers import EventConsumer
from tests.support import probe
from tests.support.kafka import client_config


@pytest.fixture
def kafka_settings(settings, kafka_broker):
    """Kafka mode against the session broker, with short timeouts and fresh clients."""
    settings.KAFKA_BOOTSTRAP_SERVERS = kafka_broker.bootstrap_servers
    settings.KAFKA_DELIVERY_TIMEOUT_SECONDS = 4
    settings.EVENT_HANDLER_BACKOFF_SECONDS = 0.05
    kafka.close_clients()
    yield settings
    kafka.close_clients()


@pytest.fixture
def probe_handler():
    previous = probe.install()
    yield probe
    probe.BROKEN.clear()
    probe.uninstall(previous)


def wait_until(predicate, timeout: float = 60.0, interval: float = 0.2, what: str = "condition"):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = predicate()
        if value:
            return value
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}")


def produce(bootstrap: str, topic: str, messages: list[tuple]) -> None:
    """Each message is (key, value) or (key, value, headers)."""
    producer = Producer(client_config(bootstrap))
    for key, value, *headers in messages:
        producer.produce(topic, key=key, value=value, headers=headers[0] if headers else None)
    assert producer.flush(10) == 0


def read_topic(bootstrap: str, topic: str, expected: int, timeout: float = 30.0) -> list:
    """Every message on `topic` (at least `expected` of them), read by a fresh consumer group."""
    consumer = Consumer({
        **client_config(bootstrap), "group.id": f"reader-{uuid.uuid4()}",
        "auto.offset.reset": "earliest", "enable.auto.commit": False, "session.timeout.ms": 6000,
    })
    consumer.subscribe([topic])
    messages = []
    deadline = time.monotonic() + timeout
    try:
        while time.monotonic() < deadline:
            message = consumer.poll(0.5)
            if message is not None and not message.error():
                messages.append(message)
            elif message is None and len(messages) >= expected:
                return messages  # a quiet poll after the expected count: nothing more is coming
    finally:
        consumer.close()
    raise AssertionError(f"read {len(messages)} of {expected} messages from {topic}")


@contextmanager
def running_consumer(app: str = "inventory", lag_interval: float = 10.0):
    """An EventConsumer in a thread of this process; stopped (and checked) on exit."""
    consumer = EventConsumer(app, lag_interval=lag_interval)
    failure = []

    def run():
        try:
            consumer.run()
        except Exception as exc:  # surfaced to the test below
            failure.append(exc)

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    try:
        yield consumer
    finally:
        consumer.stop()
        thread.join(30)
    assert not thread.is_alive(), "consumer did not stop"
    assert not failure, failure


def sample(name: str, **labels) -> float:
    """The current value of a metric sample in this process (0 when never set)."""
    return prometheus_client.REGISTRY.get_sample_value(name, labels) or 0.0


def read_partitions(bootstrap: str, topic: str) -> list[int]:
    """The partition numbers of `topic` on the broker."""
    client = Consumer({**client_config(bootstrap), "group.id": f"reader-{uuid.uuid4()}"})
    try:
        return sorted(client.list_topics(topic, timeout=5).topics[topic].partitions)
    finally:
        client.close()


def caught_up(bootstrap: str, group: str, topic: str) -> bool:
    """Whether `group` has committed offsets up to the end of every partition of `topic`."""
    client = Consumer({**client_config(bootstrap), "group.id": group, "enable.auto.commit": False})
    try:
        partitions = client.list_topics(topic, timeout=5).topics[topic].partitions
        committed = client.committed([TopicPartition(topic, p) for p in partitions], timeout=5)
        ends = [client.get_watermark_offsets(position, timeout=5)[1] for position in committed]
        # An empty partition has nothing to commit (its committed offset stays unset, negative).
        return all(end == 0 or position.offset >= end for position, end in zip(committed, ends, strict=True))
    finally:
        client.close()
