"""Drill: the broker restarts empty with purchases relayed but not consumed; one reconciliation run
brings every sale back, exactly once."""

import pytest
from django.core.management import CommandError, call_command

from apps.common.events import kafka
from apps.inventory import interface as inventory
from tests.support.consumers import running_consumer
from tests.support.kafka import KafkaBroker, caught_up
from tests.support.polling import wait_until
from tests.support.purchases import availability, purchase

pytestmark = pytest.mark.django_db(databases="__all__", transaction=True)

PURCHASES = 10


def _relays_cleanly() -> bool:
    try:
        call_command("relay_outbox", "--app", "payments")
    except CommandError:
        return False  # the first run after a rebuild may only replace the producer
    return True


def test_sales_lost_with_the_broker_come_back_exactly_once_after_one_reconciliation(
        kafka_settings, shopper_client, stocked_product, capsys):
    broker = KafkaBroker().start()
    try:
        kafka_settings.KAFKA_BOOTSTRAP_SERVERS = broker.bootstrap_servers
        broker.create_topics(["payments.events", "payments.events.dlq"])
        product = stocked_product(stock=50)
        payment_ids = []
        for _ in range(PURCHASES):
            response = purchase(shopper_client, [(product, 1)])
            assert response.status_code == 201, response.json()
            payment_ids.append(response.json()["id"])
        call_command("relay_outbox", "--app", "payments")  # relayed, nobody consumed them yet

        broker.stop()
        broker.start()  # same port; its memory storage starts empty
        broker.create_topics(["payments.events", "payments.events.dlq"])
        kafka.close_clients()
        assert availability(product).reserved == PURCHASES  # every sale is lost

        call_command("reconcile_sales", "--grace", "0")
        reported = capsys.readouterr().out
        assert f"{PURCHASES} reservation_held; {PURCHASES} event(s) published again." in reported
        wait_until(_relays_cleanly, timeout=60, interval=1, what="a clean relay")
        with running_consumer("inventory"):
            wait_until(lambda: caught_up(broker.bootstrap_servers, "shop-inventory", "payments.events"),
                       what="inventory to consume the re-published events")
    finally:
        broker.stop()
        kafka.close_clients()

    # Every sale applied (its reservation committed), each once (the units on hand).
    effects = inventory.get_stock_effects(payment_ids)
    assert {effect.reservation for effect in effects.values()} == {"committed"}
    assert availability(product).on_hand == 50 - PURCHASES
    assert availability(product).reserved == 0
    call_command("reconcile_sales", "--grace", "0", "--dry-run")
    assert "nothing missing" in capsys.readouterr().out
