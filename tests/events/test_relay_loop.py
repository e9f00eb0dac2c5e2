"""The long-lived relay loop: woken at commit by PostgreSQL NOTIFY, one flush per batch, no task.

Every loop here polls only once a minute, so an event that arrives within the tests' waits was
relayed because the commit's notification woke the loop, not because its polling came round.
"""

import json
import signal
import sqlite3
import sys
import threading
from collections import Counter
from contextlib import contextmanager

import pytest
from celery import signals
from django.db import connections, transaction
from django.test.utils import CaptureQueriesContext

from apps.common.events.outbox import emit, emit_many, outbox_model
from apps.common.events.relay import OutboxRelay, relay_outbox
from tests.support.kafka import read_topic
from tests.support.metrics import sample
from tests.support.polling import wait_until
from tests.support.processes import database_env, manage, sqlite_env, start_process

OutboxEvent = outbox_model("payments")  # payments' outbox table, through the kernel

pytestmark = pytest.mark.django_db(databases=["default", "payments"], transaction=True)

POLL_ONCE_A_MINUTE = 60.0


@contextmanager
def running_relays(count: int = 1, batch_size: int = 500):
    """`count` relay loops of payments' outbox, each in its own thread, listening before we go on."""
    relays = [OutboxRelay("payments", poll_interval=POLL_ONCE_A_MINUTE, batch_size=batch_size)
              for _ in range(count)]
    failures = []

    def run(relay):
        try:
            relay.run()
        except Exception as exc:  # surfaced to the test below
            failures.append(exc)

    threads = [threading.Thread(target=run, args=(relay,), daemon=True) for relay in relays]
    for thread in threads:
        thread.start()
    try:
        for relay in relays:
            assert relay.ready.wait(30), "relay did not start listening"
        yield relays
    finally:
        for relay in relays:
            relay.stop()
        for thread in threads:
            thread.join(30)
    assert not any(thread.is_alive() for thread in threads), "relay did not stop"
    assert not failures, failures


@contextmanager
def counting_celery_tasks_sent():
    sent = []

    def count(sender=None, **kwargs):
        sent.append(sender)

    signals.before_task_publish.connect(count, weak=False)
    try:
        yield sent
    finally:
        signals.before_task_publish.disconnect(count)


def _all_sent() -> bool:
    return not OutboxEvent.objects.filter(sent_at__isnull=True).exists()


def _published_ids(bootstrap: str, at_least: int) -> Counter:
    """How often each CloudEvent id is on payments.events (the session's broker: other tests'
    messages, poison ones included, are there too)."""
    published = Counter()
    for message in read_topic(bootstrap, "payments.events", at_least):
        try:
            published[json.loads(message.value())["id"]] += 1
        except (ValueError, TypeError, KeyError):
            continue
    return published


def test_a_commit_wakes_the_loop_which_relays_every_event_with_one_flush_per_batch_and_no_task(
        kafka_settings, kafka_broker):
    kafka_broker.create_topics(["payments.events"])
    flushes_before = sample("shop_outbox_relay_batch_size_count", app="payments")
    rows_before = sample("shop_outbox_relay_batch_size_sum", app="payments")

    with counting_celery_tasks_sent() as tasks_sent, running_relays(batch_size=50) as (relay,):
        with transaction.atomic(using="payments"):
            events = emit_many("payments", [("payments.probe", {"n": n}, f"payment-{n % 7}")
                                            for n in range(120)])
        wait_until(_all_sent, timeout=30, what="the notified relay to send every event")

    assert relay.relayed == 120
    assert sample("shop_outbox_relay_batch_size_sum", app="payments") - rows_before == 120
    # 50 + 50 + 20 rows: one produce-and-flush each.
    assert sample("shop_outbox_relay_batch_size_count", app="payments") - flushes_before == 3
    assert tasks_sent == []
    published = _published_ids(kafka_settings.KAFKA_BOOTSTRAP_SERVERS, 120)
    assert {event.get_id() for event in events} <= set(published)


def test_a_pass_costs_two_statements_per_batch_in_one_transaction_each(kafka_settings, kafka_broker):
    kafka_broker.create_topics(["payments.events"])
    with transaction.atomic(using="payments"):
        emit_many("payments", [("payments.probe", {"n": n}, f"payment-{n % 7}") for n in range(120)])

    with CaptureQueriesContext(connections["payments"]) as queries:
        assert relay_outbox("payments", batch_size=50) == 120

    # One transaction per batch of 50, 50, 20: claim (SELECT ... FOR UPDATE SKIP LOCKED), produce
    # and flush, mark sent (UPDATE). The short last batch ends the pass without asking again.
    assert [query["sql"].split()[0] for query in queries] == ["BEGIN", "SELECT", "UPDATE", "COMMIT"] * 3
    assert all("SKIP LOCKED" in query["sql"] for query in queries[1::4])


def test_each_commit_is_relayed_as_it_comes_and_a_rollback_is_never_sent(kafka_settings, kafka_broker):
    kafka_broker.create_topics(["payments.events"])
    with running_relays() as (relay,):
        for n in range(3):
            with transaction.atomic(using="payments"):
                emit("payments", "payments.probe", {"n": n}, key="payment-1")
            wait_until(lambda n=n: relay.relayed == n + 1, timeout=30, what=f"event {n} to be relayed")
        with pytest.raises(RuntimeError), transaction.atomic(using="payments"):
            emit("payments", "payments.probe", {"n": "rolled back"}, key="payment-1")
            raise RuntimeError("the change failed")
    assert relay.relayed == 3
    assert OutboxEvent.objects.count() == 3 and _all_sent()


def test_concurrent_relays_send_each_event_once(kafka_settings, kafka_broker):
    kafka_broker.create_topics(["payments.events"])
    with running_relays(count=3, batch_size=20) as relays:
        ids = []
        for batch in range(5):
            with transaction.atomic(using="payments"):
                probes = [("payments.probe", {"batch": batch, "n": n}, f"payment-{n}") for n in range(40)]
                ids += [event.get_id() for event in emit_many("payments", probes)]
        wait_until(_all_sent, timeout=60, what="the relays to send every event")

    assert sum(relay.relayed for relay in relays) == 200
    published = _published_ids(kafka_settings.KAFKA_BOOTSTRAP_SERVERS, 200)
    assert {event_id: published[event_id] for event_id in ids} == dict.fromkeys(ids, 1)


def test_relay_outbox_follow_runs_the_loop_until_sigterm(kafka_settings, kafka_broker):
    kafka_broker.create_topics(["payments.events"])
    env = {**database_env(), "KAFKA_BOOTSTRAP_SERVERS": kafka_broker.bootstrap_servers,
           "OUTBOX_RELAY_POLL_SECONDS": str(POLL_ONCE_A_MINUTE)}
    follower = start_process("relay-follow", [sys.executable, "manage.py", "relay_outbox", "--follow",
                                              "--app", "payments"], env, port=0)
    try:
        wait_until(lambda: "relay payments listening on outbox_payments" in follower.log(),
                   what="the relay to listen")
        with transaction.atomic(using="payments"):
            ids = [emit("payments", "payments.probe", {"n": n}, key=f"payment-{n}").get_id()
                   for n in range(3)]
        wait_until(_all_sent, timeout=30, what="the relay process to send the events")
        follower.process.send_signal(signal.SIGTERM)
        assert follower.process.wait(30) == 0
    finally:
        follower.stop()
    assert "payments: relayed 3 event(s)" in follower.log()
    assert set(ids) <= set(_published_ids(kafka_broker.bootstrap_servers, 3))


def test_on_sqlite_the_loop_polls(tmp_path):
    """No NOTIFY on SQLite: `relay_outbox --follow` finds a row committed by another process by
    polling (embedded mode: it applies the event itself and marks it sent)."""
    env = {**sqlite_env(tmp_path, ["payments"]), "KAFKA_BOOTSTRAP_SERVERS": "",
           "OUTBOX_RELAY_POLL_SECONDS": "0.5"}
    assert manage(["migrate", "--verbosity", "0"], env).returncode == 0
    follower = start_process("relay-follow-sqlite", [sys.executable, "manage.py", "relay_outbox", "--follow"],
                             env, port=0)
    outbox = tmp_path / "payments.sqlite3"

    def sent_and_all():
        with sqlite3.connect(outbox) as database:
            return database.execute("SELECT count(sent_at), count(*) FROM payments_outboxevent").fetchone()

    try:
        wait_until(lambda: "relay payments polling" in follower.log(), what="the relay to poll")
        # Committed by a process that neither notifies nor applies it (it believes Kafka relays).
        emitted = manage(["shell", "-c", "from django.db import transaction\n"
                          "from apps.common.events.outbox import emit\n"
                          "with transaction.atomic(using='payments'):\n"
                          "    emit('payments', 'payments.probe', {}, key='payment-1')"],
                         {**env, "KAFKA_BOOTSTRAP_SERVERS": "127.0.0.1:1"})
        assert emitted.returncode == 0, emitted.stderr
        wait_until(lambda: sent_and_all() == (1, 1), timeout=30, what="the polling relay to send it")
    finally:
        follower.stop()
