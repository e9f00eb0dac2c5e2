"""A real purchase event through the whole pipe: payments' outbox, relay, Kafka, inventory's consumer."""

import uuid

import pytest
from django.db import transaction

from apps.common.events.outbox import emit, outbox_model
from apps.common.events.relay import relay_outbox
from apps.inventory import interface as inventory
from apps.inventory.interface import StockLine
from tests.support.consumers import running_consumer
from tests.support.kafka import caught_up
from tests.support.polling import wait_until

pytestmark = pytest.mark.django_db(databases=["default", "inventory", "payments"], transaction=True)


def test_purchase_completed_turns_the_reservation_into_a_sale_once(kafka_settings, kafka_broker):
    product_id, payment_id = uuid.uuid4(), uuid.uuid4()
    inventory.receive_stock(f"receipt-{product_id}", [StockLine(product_id, 10)], reason="delivery")
    inventory.reserve(str(payment_id), [StockLine(product_id, 3)])
    with transaction.atomic(using="payments"):
        event = emit("payments", "payments.purchase_completed", {
            "payment_id": str(payment_id), "user_id": str(uuid.uuid4()),
            "items": [{"product_id": str(product_id), "quantity": 3, "unit_price": "9.99"}],
            "amount": "29.97", "currency": "USD",
        }, key=str(payment_id))
    relay_outbox("payments")
    # Published a second time, as after a lost delivery report: the consumer must apply it once.
    outbox_model("payments").objects.filter(pk=event.get_id()).update(sent_at=None)
    relay_outbox("payments")

    with running_consumer("inventory") as consumer:
        wait_until(lambda: caught_up(kafka_broker.bootstrap_servers, "shop-inventory", "payments.events"),
                   what="inventory to consume both copies")

    assert inventory.get_stock_effects([str(payment_id)])[str(payment_id)].reservation == "committed"
    stock = inventory.get_availability([product_id])[product_id]
    assert (stock.on_hand, stock.reserved) == (7, 0)  # sold once
    assert consumer.stats.skipped >= 1  # the second copy
