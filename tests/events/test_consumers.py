"""Event consumers on PostgreSQL and a real Kafka (Tansu) broker: exactly-once effect, DLQ, replay."""

import json
import os
import signal
import sys
import uuid

import pytest
from django.core.management import call_command

from apps.common.events import CloudEvent, kafka_message, new_event
from apps.common.models import DeadLetter
from tests.events.conftest import caught_up, produce, read_topic, running_consumer, sample, wait_until
from tests.support.probe import PROBE_TYPE, effects
from tests.support.processes import database_env, free_port, start_process

pytestmark = pytest.mark.django_db(databases=["default", "inventory"], transaction=True)


def _probe(**data) -> CloudEvent:
    return new_event(PROBE_TYPE, "/payments", data)


def _send(broker, events) -> None:
    produce(broker.bootstrap_servers, "payments.events",
            [kafka_message(event.get_id(), event) for event in events])


def test_a_redelivered_event_applies_once(kafka_settings, kafka_broker, probe_handler):
    event = _probe()
    _send(kafka_broker, [event, event])  # the same event twice, as a producer retry would

    with running_consumer() as consumer:
        wait_until(lambda: consumer.stats.applied >= 1 and consumer.stats.skipped >= 1,
                   what="both deliveries")

    assert effects(event.get_id()) == {event.get_id(): 1}


def test_poison_messages_go_to_the_dlq_and_replay(kafka_settings, kafka_broker, probe_handler):
    broken = _probe()
    broken_id = broken.get_id()
    probe_handler.BROKEN.add(broken_id)
    produce(kafka_broker.bootstrap_servers, "payments.events", [(b"garbage", b"{not json")])
    _send(kafka_broker, [broken])
    healthy = _probe()
    healthy_id = healthy.get_id()
    _send(kafka_broker, [healthy])
    consumed = {outcome: sample("shop_events_consumed_total", topic="payments.events", app="inventory",
                                outcome=outcome) for outcome in ("processed", "retried", "dead_lettered")}

    with running_consumer():
        wait_until(lambda: effects(healthy_id), what="the healthy event behind the poison")
        ours = DeadLetter.objects.filter(key__in=["garbage", broken_id])
        wait_until(lambda: ours.count() == 2, what="two dead letters")

        letters = {letter.key: letter for letter in ours}
        assert letters["garbage"].error.startswith("InvalidEvent")
        assert letters[broken_id].event_id == broken_id
        assert "probe handler told to fail" in letters[broken_id].error
        assert {letter.consumer_app for letter in letters.values()} == {"inventory"}
        assert effects(broken_id) == {}  # three attempts, none left an effect
        counted = {outcome: sample("shop_events_consumed_total", topic="payments.events", app="inventory",
                                   outcome=outcome) - before for outcome, before in consumed.items()}
        assert counted["dead_lettered"] == 2
        assert counted["retried"] == 2  # the broken event's 2nd and 3rd attempts
        assert counted["processed"] >= 1
        dlq = [m for m in read_topic(kafka_broker.bootstrap_servers, "payments.events.dlq", 2)
               if m.key() in (b"garbage", broken_id.encode())]
        assert len(dlq) == 2
        for message in dlq:
            headers = dict(message.headers())
            assert headers["dlq_original_topic"] == b"payments.events"
            assert headers["dlq_consumer_app"] == b"inventory"
            assert int(headers["dlq_original_offset"]) >= 0
            assert headers["dlq_error"]

        probe_handler.BROKEN.discard(broken_id)  # the bug is fixed
        call_command("replay_dlq", "--id", str(letters[broken_id].pk))
        wait_until(lambda: effects(broken_id), what="the replayed event")
        call_command("replay_dlq", "--id", str(letters[broken_id].pk))  # a re-run is harmless

    assert effects(broken_id) == {broken_id: 1}
    assert DeadLetter.objects.get(pk=letters[broken_id].pk).replayed_at is not None
    assert DeadLetter.objects.get(pk=letters["garbage"].pk).replayed_at is None
    assert json.loads(DeadLetter.objects.get(pk=letters[broken_id].pk).payload)["id"] == broken_id


def test_consumer_lag_is_measured_per_partition(kafka_settings, kafka_broker, probe_handler):
    events = [_probe(sleep=0.2) for _ in range(8)]
    _send(kafka_broker, events)

    def lag() -> float:
        return sum(sample("shop_consumer_lag", topic="payments.events", partition=str(partition),
                          app="inventory") for partition in range(3))

    with running_consumer(lag_interval=0):
        # The slow events keep some waiting for over a second: the gauge must show them.
        wait_until(lambda: lag() >= 1, interval=0.05, what="a lag while events wait")
        wait_until(lambda: caught_up(kafka_broker.bootstrap_servers, "shop-inventory", "payments.events"),
                   what="inventory to catch up")
        wait_until(lambda: lag() == 0, what="the lag to drop to 0")


def _consumer_process(broker, name, runner):
    """The inventory consumer alone (`manage.py consume_events`) or in a Celery worker's thread
    (prefork pool, its own queue); its own session, so a kill takes the pool process too."""
    env = {**database_env(), "KAFKA_BOOTSTRAP_SERVERS": broker.bootstrap_servers,
           "DJANGO_SETTINGS_MODULE": "tests.support.probe_settings", "METRICS_PORT": str(free_port()),
           # Small batches, so that the kill lands between two of them, and within one.
           "EVENT_BATCH_SIZE": "10"}
    args = {
        "consume_events": [sys.executable, "manage.py", "consume_events", "--app", "inventory"],
        "celery": [sys.executable, "-m", "celery", "-A", "config", "worker",
                   "-Q", f"{name}-{uuid.uuid4().hex[:8]}", "--concurrency", "1", "--loglevel", "INFO"],
    }[runner]
    return start_process(name, args, env, port=0, detached=True)


@pytest.mark.parametrize("runner", ["consume_events", "celery"])
def test_a_consumer_killed_mid_batch_applies_every_event_exactly_once(kafka_settings, kafka_broker, runner):
    events = [_probe(sleep=0.03) for _ in range(100)]
    _send(kafka_broker, events)
    ids = {event.get_id() for event in events}

    def ours():
        return {event_id: count for event_id, count in effects().items() if event_id in ids}

    first = _consumer_process(kafka_broker, f"{runner}-killed", runner)
    try:
        wait_until(lambda: len(ours()) >= 20, what="the first consumer to get going")
    finally:
        os.killpg(first.process.pid, signal.SIGKILL)  # no chance to commit what it was doing
        first.process.wait()
    applied_before_restart = len(ours())
    assert applied_before_restart < 100, "the consumer finished before it could be killed"

    second = _consumer_process(kafka_broker, f"{runner}-restarted", runner)
    try:
        wait_until(lambda: len(ours()) == 100, timeout=90, what="every event applied")
    finally:
        second.process.send_signal(signal.SIGTERM)
        assert second.process.wait(30) == 0, second.log()
    assert ours() == dict.fromkeys(ids, 1)
    assert "stopped" in second.log()
