"""The outbox relay on PostgreSQL and a real Kafka (Tansu) broker."""

import json
from collections import Counter

import pytest
from confluent_kafka.admin import AdminClient
from django.core.management import CommandError, call_command
from django.db import transaction

from apps.common.events import kafka
from apps.common.events.outbox import emit, outbox_model
from apps.common.events.relay import RelayError, relay_outbox
from tests.support.kafka import KafkaBroker, client_config, read_topic
from tests.support.metrics import sample
from tests.support.polling import wait_until

OutboxEvent = outbox_model("payments")  # payments' outbox table, through the kernel

pytestmark = pytest.mark.django_db(databases=["default", "payments"], transaction=True)


def _emit_probes(count: int, keys: int) -> list[str]:
    with transaction.atomic(using="payments"):
        return [
            emit("payments", "payments.probe", {"n": n}, key=f"payment-{n % keys}").get_id()
            for n in range(count)
        ]


def _event_id(message) -> str | None:
    """The id in a message's JSON value; None for what other tests put on the topic (garbage)."""
    try:
        return json.loads(message.value())["id"]
    except (ValueError, KeyError, TypeError):
        return None


def _relays_cleanly() -> bool:
    try:
        call_command("relay_outbox", "--app", "payments")
    except CommandError:
        return False
    return True


def test_relay_publishes_cloudevents_keyed_by_aggregate_in_order(kafka_settings, kafka_broker):
    kafka_broker.create_topics(["payments.events"])
    already_there = len(read_topic(kafka_broker.bootstrap_servers, "payments.events", 0))
    ids = _emit_probes(12, keys=3)
    published_before = sample("shop_events_relayed_total", app="payments", outcome="published")

    assert relay_outbox("payments") == 12
    assert sample("shop_events_relayed_total", app="payments", outcome="published") == published_before + 12

    assert not OutboxEvent.objects.filter(sent_at__isnull=True).exists()
    messages = read_topic(kafka_broker.bootstrap_servers, "payments.events", already_there + 12)
    ours = [m for m in messages if _event_id(m) in ids]
    assert len(ours) == 12
    partitions_by_key = {}
    for message in ours:
        document = json.loads(message.value())
        assert document["specversion"] == "1.0"
        assert document["type"] == "payments.probe"
        assert document["source"] == "/payments"
        assert message.key().decode() == f"payment-{document['data']['n'] % 3}"
        # Structured mode: the content type says so, and no partial set of `ce_` headers.
        assert message.headers() == [("content-type", b"application/cloudevents+json")]
        partitions_by_key.setdefault(message.key(), set()).add(message.partition())
    # One key, one partition: an aggregate's events stay in order for its consumers.
    assert all(len(partitions) == 1 for partitions in partitions_by_key.values())
    for key in partitions_by_key:
        numbers = [json.loads(m.value())["data"]["n"] for m in ours if m.key() == key]
        assert numbers == sorted(numbers)


def test_outbox_rows_survive_kafka_down_and_all_go_out_once_it_returns(kafka_settings):
    broker = KafkaBroker().start()
    try:
        kafka_settings.KAFKA_BOOTSTRAP_SERVERS = broker.bootstrap_servers
        broker.create_topics(["payments.events", "payments.events.dlq"])
        _emit_probes(1, keys=1)
        assert relay_outbox("payments") == 1  # the producer is connected and working

        broker.stop()
        ids = set(_emit_probes(100, keys=7))
        failed_before = sample("shop_events_relayed_total", app="payments", outcome="failed")
        with pytest.raises(RelayError):
            relay_outbox("payments")
        assert sample("shop_events_relayed_total", app="payments", outcome="failed") == failed_before + 100
        with pytest.raises(CommandError):
            call_command("relay_outbox", "--app", "payments")
        unsent = OutboxEvent.objects.filter(sent_at__isnull=True)
        assert set(map(str, unsent.values_list("id", flat=True))) == ids
        assert all(row.attempts >= 1 and row.last_error for row in unsent)

        broker.start()  # same port; its memory storage starts empty
        broker.create_topics(["payments.events", "payments.events.dlq"])
        # As the beat does every few seconds: the first run may only replace a producer that the
        # rebuilt broker no longer knows.
        wait_until(_relays_cleanly, timeout=60, interval=1, what="a clean relay")

        assert not OutboxEvent.objects.filter(sent_at__isnull=True).exists()
        messages = read_topic(broker.bootstrap_servers, "payments.events", 100)
        published = Counter(json.loads(m.value())["id"] for m in messages)
        assert set(published) == ids  # none lost
        assert all(count == 1 for count in published.values())  # none duplicated
    finally:
        broker.stop()
        kafka.close_clients()


def test_create_topics_creates_missing_topics_and_their_dlqs(kafka_settings):
    broker = KafkaBroker().start()
    try:
        kafka_settings.KAFKA_BOOTSTRAP_SERVERS = broker.bootstrap_servers
        call_command("create_topics")
        kafka.close_clients()
        assert kafka.ensure_topics(["payments.events", "inventory.events"]) == []
        admin = AdminClient(client_config(broker.bootstrap_servers))
        topics = set(admin.list_topics(timeout=10).topics)
        expected = {"payments.events", "inventory.events"}
        assert expected | {f"{topic}.dlq" for topic in expected} <= topics
    finally:
        broker.stop()
        kafka.close_clients()
