"""The CloudEvents Kafka protocol binding, read back with the official SDK: what the relay
produces is structured mode that the SDK's auto-detection parses (100%), and the consumers take
structured and binary mode."""

import uuid
from decimal import Decimal

import pytest
from cloudevents.core.bindings.kafka import KafkaMessage, from_kafka, to_binary
from cloudevents.core.formats.json import JSONFormat
from django.db import transaction

from apps.common.events import kafka
from apps.common.events.envelope import (
    TRACEPARENT,
    declared_types,
    kafka_message,
    new_event,
    parse_kafka_message,
)
from apps.common.events.outbox import emit
from apps.common.events.relay import relay_outbox
from apps.inventory import interface as inventory
from apps.inventory.interface import StockLine
from apps.payments.event_types import Item, PaymentRefunded, PurchaseCompleted
from tests.support.consumers import running_consumer
from tests.support.kafka import KafkaBroker, produce, read_topic
from tests.support.polling import wait_until

pytestmark = pytest.mark.django_db(databases=["default", "inventory", "payments"], transaction=True)

STRUCTURED = [("content-type", b"application/cloudevents+json")]


def _sdk_message(message) -> KafkaMessage:
    return KafkaMessage(headers=dict(message.headers() or []), key=message.key(), value=message.value())


def _purchase(payment_id: uuid.UUID, product_id: uuid.UUID, quantity: int = 1) -> PurchaseCompleted:
    price = Decimal("5.00")
    items = (Item(product_id, quantity, price),)
    return PurchaseCompleted(payment_id, uuid.uuid4(), items, price * quantity, "USD")


def test_every_message_the_relay_produces_parses_with_the_sdk_auto_detection(kafka_settings):
    broker = KafkaBroker().start()  # its own broker: every message on its topics is the relay's
    try:
        kafka_settings.KAFKA_BOOTSTRAP_SERVERS = broker.bootstrap_servers
        product_id = uuid.uuid4()
        inventory.receive_stock(f"receipt-{product_id}", [StockLine(product_id, 10)], reason="delivery")
        payments = [uuid.uuid4() for _ in range(5)]
        with transaction.atomic(using="payments"):
            for payment_id in payments:
                emit("payments", PurchaseCompleted.TYPE, _purchase(payment_id, product_id).to_data(),
                     key=str(payment_id))
            refund = PaymentRefunded(payments[0], (Item(product_id, 1, Decimal("5.00")),), restock=True)
            emit("payments", PaymentRefunded.TYPE, refund.to_data(), key=str(payments[0]))
        assert relay_outbox("payments") == 6
        assert relay_outbox("inventory") == 1

        messages = [*read_topic(broker.bootstrap_servers, "payments.events", 6),
                    *read_topic(broker.bootstrap_servers, "inventory.events", 1)]
        assert len(messages) == 7
        for message in messages:
            assert message.headers() == STRUCTURED  # structured mode, no partial `ce_` set
            event = from_kafka(_sdk_message(message), JSONFormat())  # the SDK's auto-detection
            assert event.get_specversion() == "1.0"
            assert message.key().decode() == event.get_subject()  # the aggregate id
            event_class = declared_types(event.get_source().strip("/"))[event.get_type()]
            assert event_class.from_data(event.get_data()).to_data() == event.get_data()
        keys = {message.key().decode() for message in messages}
        assert keys == {*map(str, payments), str(product_id)}
    finally:
        broker.stop()
        kafka.close_clients()


def test_the_binding_keeps_the_trace_context_extension():
    traceparent = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"
    event = new_event(PurchaseCompleted.TYPE, "/payments", {"n": 1}, subject="k", traceparent=traceparent)
    key, value, headers = kafka_message("k", event)

    class Message:  # what confluent-kafka hands a consumer
        def headers(self):
            return headers

        def key(self):
            return key

        def value(self):
            return value

    assert parse_kafka_message(Message()).get_extension(TRACEPARENT) == traceparent
    sdk = from_kafka(KafkaMessage(dict(headers), key, value), JSONFormat())
    assert (sdk.get_id(), sdk.get_extension(TRACEPARENT)) == (event.get_id(), traceparent)


def test_the_consumer_applies_binary_and_structured_mode_alike(kafka_settings, kafka_broker):
    product_id = uuid.uuid4()
    inventory.receive_stock(f"receipt-{product_id}", [StockLine(product_id, 10)], reason="delivery")
    binary, structured = uuid.uuid4(), uuid.uuid4()
    for payment_id in (binary, structured):
        inventory.reserve(str(payment_id), [StockLine(product_id, 2)])
    as_binary = new_event(PurchaseCompleted.TYPE, "/payments", _purchase(binary, product_id, 2).to_data())
    message = to_binary(as_binary, JSONFormat(), key_mapper=lambda _: str(binary))
    assert any(name.startswith("ce_") for name in message.headers)
    as_structured = new_event(PurchaseCompleted.TYPE, "/payments",
                              _purchase(structured, product_id, 2).to_data())
    produce(kafka_broker.bootstrap_servers, "payments.events", [
        (message.key.encode(), message.value, list(message.headers.items())),
        kafka_message(str(structured), as_structured),
    ])

    with running_consumer("inventory"):
        effects = lambda: inventory.get_stock_effects([str(binary), str(structured)]).values()  # noqa: E731
        wait_until(lambda: all(effect.reservation == "committed" for effect in effects()), what="both sales")

    stock = inventory.get_availability([product_id])[product_id]
    assert (stock.on_hand, stock.reserved) == (6, 0)  # two sales of 2, each once
