"""Event consumers on PostgreSQL and a real Kafka (Tansu) broker: exactly-once effect, DLQ, replay."""

import json
import os
import signal
import sys
import time
import uuid
from decimal import Decimal

import pytest
from django.core.management import call_command
from django.db import connections

from apps.common.events.envelope import CloudEvent, kafka_message, new_event
from apps.common.models import DeadLetter
from apps.inventory import interface as inventory
from apps.inventory.interface import StockLine
from apps.payments.event_types import Item, PurchaseCompleted
from tests.support.consumers import running_consumer
from tests.support.kafka import caught_up, produce, read_partitions, read_topic
from tests.support.metrics import sample
from tests.support.polling import wait_until
from tests.support.probe import PROBE_TYPE, effects
from tests.support.processes import database_env, free_port, start_process
from tests.support.proxy import TcpProxy

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


def test_poison_in_the_middle_of_a_batch_is_dead_lettered_alone(kafka_settings, kafka_broker, probe_handler):
    """One key, so one partition and one batch: a failing handler, invalid data and an unknown
    type among healthy events. The healthy ones apply once each (the bisection's rolled-back
    attempts leave nothing), the three bad ones are dead-lettered with their reason."""
    key = str(uuid.uuid4())
    healthy = [_probe() for _ in range(8)]
    broken = _probe()
    probe_handler.BROKEN.add(broken.get_id())
    invalid = _probe(sleep="forever")
    unknown = new_event("payments.mystery", "/payments", {})
    batch = [*healthy[:3], broken, *healthy[3:5], invalid, *healthy[5:7], unknown, healthy[7]]
    produce(kafka_broker.bootstrap_servers, "payments.events", [kafka_message(key, event) for event in batch])
    dead_before = sample("shop_events_consumed_total", topic="payments.events", app="inventory",
                         outcome="dead_lettered")

    with running_consumer() as consumer:
        wait_until(lambda: DeadLetter.objects.filter(key=key).count() == 3, what="three dead letters")
        wait_until(lambda: len(effects()) >= 8, what="the healthy events")

    assert {event.get_id(): 1 for event in healthy} == {
        event_id: count for event_id, count in effects().items() if event_id in {e.get_id() for e in healthy}}
    errors = dict(DeadLetter.objects.filter(key=key).values_list("event_id", "error"))
    assert errors.keys() == {broken.get_id(), invalid.get_id(), unknown.get_id()}
    assert errors[broken.get_id()] == "RuntimeError: probe handler told to fail"
    assert errors[invalid.get_id()].startswith("InvalidEvent: payments.probe: invalid data")
    assert errors[unknown.get_id()] == "InvalidEvent: unknown event type 'payments.mystery'"
    assert sample("shop_events_consumed_total", topic="payments.events", app="inventory",
                  outcome="dead_lettered") - dead_before == 3
    assert consumer.stats.dead_lettered == 3
    assert consumer.stats.batches == consumer.stats.offset_commits <= 2  # the 12 came in one or two


def test_a_batch_of_100_costs_under_0_2_transactions_and_0_02_offset_commits_per_event(
        kafka_settings, kafka_broker):
    """500 real sales from a backlog: transactions counted by PostgreSQL for the inventory
    database, offset commits by the consumer."""
    kafka_settings.EVENT_BATCH_SIZE = 100
    # A backlog fills every batch unless the fetch is slower than the wait (a loaded machine):
    # wait long enough that the batch size, not the machine, makes the batches.
    kafka_settings.EVENT_BATCH_TIMEOUT_MS = 2000
    # Connections earlier tests left open on the database (idle): not this measurement's.
    leftover = _backend_pids("inventory")
    products = [uuid.uuid4() for _ in range(5)]
    for product_id in products:
        inventory.receive_stock(f"receipt-{product_id}", [StockLine(product_id, 200)], reason="delivery")
    price = Decimal("5.00")
    sales = []
    for n in range(500):
        payment_id, product_id = uuid.uuid4(), products[n % 5]
        inventory.reserve(str(payment_id), [StockLine(product_id, 1)])
        sales.append(PurchaseCompleted(payment_id, uuid.uuid4(), (Item(product_id, 1, price),), price, "USD"))
    _send_sales(kafka_broker, sales)
    before = _transactions("inventory", leftover)

    with running_consumer() as consumer:
        # Kafka only, no query of the database while it is being measured.
        wait_until(lambda: consumer.stats.applied >= 500 and caught_up(
            kafka_broker.bootstrap_servers, "shop-inventory", "payments.events"), what="500 sales")
    transactions = _transactions("inventory", leftover) - before

    assert _committed([str(sale.payment_id) for sale in sales]) == 500
    stock = inventory.get_availability(products)
    assert {(s.on_hand, s.reserved) for s in stock.values()} == {(100, 0)}  # each sale applied once
    print(f"per event: {transactions / 500:.3f} transactions, {consumer.stats.offset_commits / 500:.3f} "
          f"offset commits ({consumer.stats.batches} batches)")
    assert transactions / 500 <= 0.2
    assert consumer.stats.offset_commits / 500 <= 0.02


def _committed(references: list[str]) -> int:
    """How many of these payments' reservations inventory has turned into sales."""
    effects = inventory.get_stock_effects(references).values()
    return sum(effect.reservation == "committed" for effect in effects)


def _send_sales(broker, sales: list[PurchaseCompleted]) -> None:
    produce(broker.bootstrap_servers, "payments.events", [
        kafka_message(str(sale.payment_id), new_event(PurchaseCompleted.TYPE, "/payments", sale.to_data()))
        for sale in sales
    ])


def _backend_pids(alias: str) -> set[int]:
    with connections["default"].cursor() as cursor:
        cursor.execute("SELECT pid FROM pg_stat_activity WHERE datname = %s AND pid <> pg_backend_pid()",
                       [connections[alias].settings_dict["NAME"]])
        return {pid for (pid,) in cursor.fetchall()}


def _transactions(alias: str, leftover: set[int]) -> int:
    """Transactions committed or rolled back in `alias`'s database so far, as PostgreSQL counts
    them (a backend reports its counts when it ends, so this process's own connections are
    closed first; `leftover` are idle ones that were there before the test)."""
    name = connections[alias].settings_dict["NAME"]
    connections[alias].close()
    wait_until(lambda: _backend_pids(alias) <= leftover, what=f"every connection to {name} to end")
    with connections["default"].cursor() as cursor:
        cursor.execute("SELECT pg_stat_clear_snapshot()")
        cursor.execute("SELECT xact_commit + xact_rollback FROM pg_stat_database WHERE datname = %s", [name])
        return cursor.fetchone()[0]


def test_consumer_lag_is_measured_per_partition(kafka_settings, kafka_broker, probe_handler):
    kafka_settings.EVENT_BATCH_SIZE = 1  # the committed offset, and so the lag, moves event by event
    # One key: the events queue on one partition, each behind the one being handled. One record
    # batch each: Tansu's ListOffsets can under-report the end of a partition written in
    # multi-record batches.
    key = str(uuid.uuid4())
    for _ in range(8):
        produce(kafka_broker.bootstrap_servers, "payments.events", [kafka_message(key, _probe(sleep=0.2))])
    # Every partition of the topic (the broker's, created by the first test that produced to it).
    partitions = read_partitions(kafka_broker.bootstrap_servers, "payments.events")

    def lag() -> float:
        return sum(sample("shop_consumer_lag", topic="payments.events", partition=str(partition),
                          app="inventory") for partition in partitions)

    # Measured often, not on every batch: each measurement asks the broker for every partition's
    # end, and events earlier tests left behind must be caught up first.
    with running_consumer(lag_interval=0.3):
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


def test_drill_the_inventory_database_cut_for_10_s_delays_sales_and_loses_none(kafka_settings, kafka_broker):
    """A real consumer process reaches inventory's database through a TCP proxy that is cut for
    10 s while 100 sales flow: they wait (nothing dead-lettered), then each applies exactly once."""
    database = connections["inventory"].settings_dict
    proxy = TcpProxy(database["HOST"], int(database["PORT"] or 5432)).start()
    direct = f"@{database['HOST']}:{database['PORT']}/"
    env = {**database_env(), "KAFKA_BOOTSTRAP_SERVERS": kafka_broker.bootstrap_servers,
           "EVENT_BATCH_SIZE": "10", "EVENT_HANDLER_BACKOFF_SECONDS": "0.2"}
    env["DATABASE_URL_INVENTORY"] = env["DATABASE_URL_INVENTORY"].replace(direct, f"@127.0.0.1:{proxy.port}/")
    assert env["DATABASE_URL_INVENTORY"] != database_env()["DATABASE_URL_INVENTORY"]
    product_id = uuid.uuid4()
    inventory.receive_stock(f"receipt-{product_id}", [StockLine(product_id, 150)], reason="delivery")
    price = Decimal("5.00")
    sales = []
    for _ in range(100):
        payment_id = uuid.uuid4()
        inventory.reserve(str(payment_id), [StockLine(product_id, 1)])
        sales.append(PurchaseCompleted(payment_id, uuid.uuid4(), (Item(product_id, 1, price),), price, "USD"))
    references = [str(sale.payment_id) for sale in sales]

    consume = [sys.executable, "manage.py", "consume_events", "--app", "inventory"]
    consumer = start_process("drill-inventory-consumer", consume, env, port=0)
    try:
        _send_sales(kafka_broker, sales[:30])
        wait_until(lambda: _committed(references) == 30, what="the first sales")
        proxy.cut()
        _send_sales(kafka_broker, sales[30:])
        time.sleep(10)  # the outage
        assert _committed(references) == 30
        assert not caught_up(kafka_broker.bootstrap_servers, "shop-inventory", "payments.events")
        proxy.restore()
        wait_until(lambda: _committed(references) == 100, timeout=90, what="every sale after the outage")
    finally:
        consumer.process.send_signal(signal.SIGTERM)
        consumer.process.wait(30)
        proxy.cut()

    assert "event(s) wait after OperationalError" in consumer.log()
    assert not DeadLetter.objects.exists()
    assert _committed(references) == 100
    stock = inventory.get_availability([product_id])[product_id]
    assert (stock.on_hand, stock.reserved) == (50, 0)  # each sale applied exactly once
