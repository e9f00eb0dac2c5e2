"""Receipt e-mails for payment events, received by a real SMTP server."""

import sys
import uuid

import pytest
from confluent_kafka import Producer
from django.db import connections
from django.test.utils import CaptureQueriesContext
from rest_framework.test import APIClient

from apps.common.events.envelope import CloudEvent, kafka_message, new_event
from apps.common.events.outbox import apply_event, apply_events
from apps.inventory import interface as inventory
from apps.users.models import ProcessedEvent
from tests.support.kafka import client_config
from tests.support.polling import wait_until
from tests.support.processes import database_env, free_port, start_process
from tests.support.smtp import SmtpServer
from tests.support.users import UserFactory, access_token

pytestmark = pytest.mark.django_db(databases=["default", "users"])


@pytest.fixture
def smtp(settings):
    with SmtpServer() as server:
        settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
        settings.EMAIL_HOST, settings.EMAIL_PORT = "127.0.0.1", server.port
        yield server


def purchase_completed(user_id) -> CloudEvent:
    return new_event("payments.purchase_completed", "/payments", {
        "payment_id": str(uuid.uuid4()), "user_id": str(user_id), "amount": "44.97", "currency": "EUR",
        "items": [{"product_id": str(uuid.uuid4()), "name": "Desk <Lamp>", "quantity": 3,
                   "unit_price": "14.99"}],
    })


def test_one_receipt_per_purchase_even_when_the_event_comes_twice(smtp):
    shopper = UserFactory(first_name="Ada")
    event = purchase_completed(shopper.id)

    assert apply_event("users", event) is True
    assert apply_event("users", event) is False

    [message] = smtp.messages
    assert message["To"] == shopper.email
    assert message["Subject"] == f"Your receipt for payment {event.get_data()['payment_id']}"
    text = message.get_body(("plain",)).get_content()
    html = message.get_body(("html",)).get_content()
    assert "Hello Ada" in text
    assert "3 x Desk <Lamp> at 14.99 = 44.97 EUR" in text
    assert "Total: 44.97 EUR" in text
    assert "<td>Desk &lt;Lamp&gt;</td>" in html
    assert event.get_data()["payment_id"] in html
    assert ProcessedEvent.objects.using("users").filter(event_id=event.get_id()).count() == 1


def test_a_refund_sends_its_own_receipt_naming_a_line_without_a_name_by_its_id(smtp):
    shopper = UserFactory()
    product_id = str(uuid.uuid4())
    event = new_event("payments.refunded", "/payments", {  # published before items carried names
        "payment_id": str(uuid.uuid4()), "user_id": str(shopper.id), "amount": "14.99", "currency": "EUR",
        "items": [{"product_id": product_id, "quantity": 1, "unit_price": "14.99"}], "restock": True,
    })

    apply_event("users", event)
    apply_event("users", event)

    [message] = smtp.messages
    assert message["Subject"] == f"Your refund for payment {event.get_data()['payment_id']}"
    text = message.get_body(("plain",)).get_content()
    assert "14.99 EUR go back to your payment method" in text
    assert f"1 x {product_id} at 14.99" in text


def test_an_unreachable_smtp_server_leaves_the_event_to_be_retried(smtp, settings):
    shopper = UserFactory()
    event = purchase_completed(shopper.id)
    settings.EMAIL_PORT = free_port()  # nothing listens there

    with pytest.raises(OSError):
        apply_event("users", event)
    assert not ProcessedEvent.objects.using("users").exists()

    settings.EMAIL_PORT = smtp.port
    assert apply_event("users", event) is True
    assert len(smtp.messages) == 1


def test_a_batch_of_receipts_costs_the_statements_of_one(smtp):
    """The shoppers of a batch are read in one query, whatever its size."""
    shoppers = UserFactory.create_batch(5)
    with CaptureQueriesContext(connections["users"]) as one:
        apply_events("users", [purchase_completed(shoppers[0].id)])
    strangers = [uuid.uuid4() for _ in range(3)]
    batch = [purchase_completed(user_id) for user_id in [*(shopper.id for shopper in shoppers), *strangers]]
    with CaptureQueriesContext(connections["users"]) as many:
        outcome = apply_events("users", batch)

    assert (outcome.applied, outcome.failed) == (8, {})
    assert len(many) == len(one)
    mailed = sorted(message["To"] for message in smtp.messages[1:])
    assert mailed == sorted(shopper.email for shopper in shoppers)


def test_an_unknown_shopper_gets_nothing_and_the_event_is_done(smtp):
    assert apply_event("users", purchase_completed(uuid.uuid4())) is True
    assert smtp.messages == []


@pytest.mark.django_db(databases="__all__", transaction=True)
def test_a_purchase_in_the_monolith_mails_one_receipt(smtp):
    """No Kafka: the purchase's event reaches users' handler in-process, after the commit."""
    shopper = UserFactory()
    staff_client, client = APIClient(), APIClient()
    staff_client.credentials(HTTP_AUTHORIZATION=f"Bearer {access_token(is_staff=True)}")
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {access_token(shopper.id)}")
    product = staff_client.post("/api/v1/products", {"sku": "LAMP-1", "name": "Lamp", "price": "9.50",
                                              "currency": "EUR"}, format="json").json()["id"]
    inventory.receive_stock("receipt-lamp", [inventory.StockLine(uuid.UUID(product), 5)], reason="received")

    response = client.post("/api/v1/payments", {"items": [{"product_id": product, "quantity": 2}],
                                                "payment_method": {"token": "tok_visa"}},
                           format="json", headers={"Idempotency-Key": "one"})

    assert response.status_code == 201, response.json()
    [message] = smtp.messages
    assert message["To"] == shopper.email
    assert response.json()["id"] in message["Subject"]
    text = message.get_body(("plain",)).get_content()
    assert "2 x Lamp at 9.50 = 19.00 EUR" in text  # the name payments recorded, not the id
    assert "Total: 19.00 EUR" in text


@pytest.mark.django_db(databases=["default", "users"], transaction=True)
def test_split_users_consumer_mails_one_receipt_per_purchase_from_kafka(kafka_broker):
    """As in split mode: users' own consumer process reads payments.events from Kafka and mails
    through EMAIL_URL; the first event delivered twice sends one e-mail."""
    shopper = UserFactory()
    first, second = purchase_completed(shopper.id), purchase_completed(shopper.id)
    with SmtpServer() as smtp:
        env = {**database_env(["users"]), "KAFKA_BOOTSTRAP_SERVERS": kafka_broker.bootstrap_servers,
               "EMAIL_URL": smtp.url}
        consumer = start_process("users-consumer", [sys.executable, "manage.py", "consume_events",
                                                    "--app", "users"], env, port=0)
        try:
            producer = Producer(client_config(kafka_broker.bootstrap_servers))
            for event in (first, first, second):  # one key: one partition, in this order
                key, value, headers = kafka_message(str(shopper.id), event)
                producer.produce("payments.events", key=key, value=value, headers=headers)
            assert producer.flush(10) == 0
            wait_until(lambda: len(smtp.messages) >= 2 or consumer.process.poll() is not None,
                       lambda: f"two receipts: {consumer.log()[-3000:]}")
        finally:
            consumer.stop()
        subjects = [message["Subject"] for message in smtp.messages]
    # `second` came after the duplicate on the same partition: once it is mailed, both were handled.
    assert subjects == [f"Your receipt for payment {first.get_data()['payment_id']}",
                        f"Your receipt for payment {second.get_data()['payment_id']}"], consumer.log()[-3000:]
