"""POST /api/v1/webhooks/payments/stripe over real HTTP to gunicorn, with deliveries signed as
Stripe signs them; the purchases behind them go through the real SDK to a local Stripe."""

import copy
import hashlib
import hmac
import json
import time
import uuid

import psycopg
import pytest
import requests
from psycopg import sql

from apps.inventory import interface as inventory
from apps.payments.models import OutboxEvent, Payment, WebhookEvent
from apps.payments.tests import stripe_server
from tests.support.clients import client_for
from tests.support.problems import assert_problem
from tests.support.processes import database_env, start_http_server
from tests.support.purchases import availability
from tests.support.smtp import SmtpServer
from tests.support.users import UserFactory, access_token

pytestmark = pytest.mark.django_db(databases="__all__", transaction=True)

SECRET = "whsec_test_local"
THREE_D_SECURE = "pm_card_threeDSecure2Required"


@pytest.fixture(scope="module")
def fake_stripe():
    stripe, server = stripe_server.serve()
    yield stripe
    server.shutdown()
    server.server_close()


@pytest.fixture(scope="module")
def smtp():
    with SmtpServer() as server:
        yield server


def server_env(fake_stripe, smtp) -> dict[str, str]:
    return {**database_env(), "PAYMENT_PROVIDER": "stripe", "STRIPE_API_KEY": "sk_test_local",
            "STRIPE_API_BASE": fake_stripe.url, "STRIPE_WEBHOOK_SECRET": SECRET, "EMAIL_URL": smtp.url}


@pytest.fixture(scope="module")
def server(django_db_setup, fake_stripe, smtp):
    process = start_http_server("stripe-webhooks", server_env(fake_stripe, smtp))
    yield process
    process.stop()


def signed(payload: bytes, *, timestamp: int | None = None, secret: str = SECRET) -> str:
    """The `Stripe-Signature` header: `t=<unix time>,v1=<HMAC-SHA256 of "<t>.<body>" with the
    endpoint's secret>` (https://docs.stripe.com/webhooks#verify-manually)."""
    timestamp = int(time.time()) if timestamp is None else timestamp
    mac = hmac.new(secret.encode(), f"{timestamp}.".encode() + payload, hashlib.sha256).hexdigest()
    return f"t={timestamp},v1={mac}"


def event(event_type: str, data_object: dict) -> bytes:
    document = stripe_server.fixture("event")
    document.update(id=f"evt_{uuid.uuid4().hex[:24]}", type=event_type, data={"object": data_object})
    return json.dumps(document).encode()


def deliver(server, payload: bytes, signature: str | None = None, provider: str = "stripe"):
    headers = {"Content-Type": "application/json"}
    if signature is not None:
        headers["Stripe-Signature"] = signature
    return requests.post(f"{server.url}/api/v1/webhooks/payments/{provider}", data=payload, headers=headers,
                         timeout=10)


def deliver_signed(server, event_type: str, data_object: dict):
    payload = event(event_type, data_object)
    return deliver(server, payload, signed(payload))


@pytest.fixture
def product():
    staff_client = client_for(is_staff=True)
    response = staff_client.post("/api/v1/products", {"sku": f"SKU-{uuid.uuid4().hex[:12]}", "name": "Lamp",
                                               "price": "25.00", "currency": "EUR"}, format="json")
    product_id = uuid.UUID(response.json()["id"])
    inventory.receive_stock(f"receipt-{uuid.uuid4()}", [inventory.StockLine(product_id, 10)],
                            reason="received")
    return product_id


@pytest.fixture
def pending(server, fake_stripe, product):
    """A purchase through the server that waits on 3-D Secure; returns (payment, its intent)."""
    response = requests.post(
        f"{server.url}/api/v1/payments", timeout=10,
        json={"items": [{"product_id": str(product), "quantity": 2}],
              "payment_method": {"token": THREE_D_SECURE}},
        headers={"Authorization": f"Bearer {access_token(UserFactory().id)}",
                 "Idempotency-Key": str(uuid.uuid4())},
    )
    assert response.status_code == 202, response.text
    payment = Payment.objects.get(pk=response.json()["id"])
    intent = copy.deepcopy(fake_stripe.intents[payment.provider_charge_id])
    assert response.json()["next_action"]["client_secret"] == intent["client_secret"]
    return payment, intent


def succeeded(intent: dict) -> dict:
    """The intent once the shopper passed 3-D Secure."""
    return {**intent, "status": "succeeded", "next_action": None, "amount_received": intent["amount"]}


def receipts(smtp, payment) -> list:
    return [message for message in smtp.messages if str(payment.id) in message["Subject"]]


def test_payment_intent_succeeded_completes_the_pending_payment(server, pending, product, smtp):
    payment, intent = pending

    response = deliver_signed(server, "payment_intent.succeeded", succeeded(intent))

    assert response.status_code == 200, response.text
    payment.refresh_from_db()
    assert payment.status == "succeeded"
    assert OutboxEvent.objects.filter(type="payments.purchase_completed").count() == 1
    # The same event as a synchronous purchase: inventory turned the reservation into a sale.
    stock = availability(product)
    assert (stock.on_hand, stock.reserved) == (8, 0)
    # ... and users mailed the receipt, through the SMTP server EMAIL_URL names.
    [receipt] = receipts(smtp, payment)
    assert "Total: 50.00 EUR" in receipt.get_body(("plain",)).get_content()


def test_payment_intent_payment_failed_fails_it_and_releases_the_stock(server, pending, product):
    payment, intent = pending
    failed = {**intent, "status": "requires_payment_method",
              "last_payment_error": stripe_server.fixture("card_declined")["error"]}

    response = deliver_signed(server, "payment_intent.payment_failed", failed)

    assert response.status_code == 200, response.text
    payment.refresh_from_db()
    assert (payment.status, payment.failure_code) == ("failed", "generic_decline")
    assert availability(product).reserved == 0
    assert not OutboxEvent.objects.exists()


def test_a_charge_reported_for_a_failed_payment_leaves_it_failed_and_says_so(server, pending):
    payment, intent = pending
    failed = {**intent, "status": "requires_payment_method", "last_payment_error": None}
    assert deliver_signed(server, "payment_intent.payment_failed", failed).status_code == 200

    assert deliver_signed(server, "payment_intent.succeeded", succeeded(intent)).status_code == 200

    payment.refresh_from_db()
    assert (payment.status, payment.failure_code) == ("failed", "payment_declined")
    assert not OutboxEvent.objects.exists()
    assert f"payment {payment.id} failed here but stripe charged it" in server.log()


def test_a_replayed_delivery_is_refused_and_changes_nothing(server, pending, smtp):
    payment, intent = pending
    payload = event("payment_intent.succeeded", succeeded(intent))
    assert deliver(server, payload, signed(payload)).status_code == 200

    again = deliver(server, payload, signed(payload))

    assert again.status_code == 400
    assert again.json()["code"] == "invalid_signature"
    assert OutboxEvent.objects.filter(type="payments.purchase_completed").count() == 1
    assert WebhookEvent.objects.count() == 1
    assert len(receipts(smtp, payment)) == 1


def test_a_delivery_that_fails_midway_is_503_and_stripes_retry_applies_it(
        pending, fake_stripe, smtp, settings):
    """The payment's row is locked by another transaction for longer than the server's statement
    timeout, so applying the event fails after its id was inserted: the id goes with the rollback,
    and the retry Stripe sends after a 503 is applied, not refused as a replay."""
    payment, intent = pending
    database = settings.DATABASES["payments"]
    impatient = start_http_server("stripe-webhooks-statement-timeout", {
        **server_env(fake_stripe, smtp), "DATABASE_STATEMENT_TIMEOUT_MS": "300"})
    payload = event("payment_intent.succeeded", succeeded(intent))
    try:
        with psycopg.connect(host=database["HOST"], port=database["PORT"], user=database["USER"],
                             dbname=database["NAME"]) as other:
            other.execute(sql.SQL("SELECT 1 FROM {} WHERE id = %s FOR UPDATE").format(
                sql.Identifier(Payment._meta.db_table)), [payment.id])
            response = deliver(impatient, payload, signed(payload))
            other.rollback()
        assert response.status_code == 503, response.text
        assert response.json()["code"] == "service_unavailable"
        assert not WebhookEvent.objects.exists()
        payment.refresh_from_db()
        assert payment.status == "pending"

        retry = deliver(impatient, payload, signed(payload))  # Stripe's retry, signed at its own time
        assert retry.status_code == 200, retry.text
    finally:
        impatient.stop()
    payment.refresh_from_db()
    assert payment.status == "succeeded"
    assert WebhookEvent.objects.get().event_id == json.loads(payload)["id"]
    assert OutboxEvent.objects.filter(type="payments.purchase_completed").count() == 1
    assert len(receipts(smtp, payment)) == 1


@pytest.mark.parametrize("delivery", ["unsigned", "tampered", "stale", "other secret"])
def test_a_delivery_not_signed_now_with_our_secret_is_refused(server, pending, delivery):
    payment, intent = pending
    payload = event("payment_intent.succeeded", succeeded(intent))
    signature = {
        "unsigned": None,
        "tampered": signed(payload.replace(b'"succeeded"', b'"succeeded" ')),
        "stale": signed(payload, timestamp=int(time.time()) - 301),
        "other secret": signed(payload, secret="whsec_someone_else"),
    }[delivery]

    response = deliver(server, payload, signature)

    assert_problem(response, 400, "invalid_signature")
    payment.refresh_from_db()
    assert payment.status == "pending"
    assert not WebhookEvent.objects.exists()


def test_charge_refunded_refunds_the_payment_without_restock(server, pending, product, smtp):
    payment, intent = pending
    assert deliver_signed(server, "payment_intent.succeeded", succeeded(intent)).status_code == 200
    charge = {**stripe_server.fixture("charge"), "payment_intent": intent["id"], "amount": intent["amount"],
              "amount_refunded": intent["amount"]}

    response = deliver_signed(server, "charge.refunded", charge)

    assert response.status_code == 200, response.text
    payment.refresh_from_db()
    assert payment.status == "refunded"
    refunded = OutboxEvent.objects.get(type="payments.refunded")
    assert refunded.payload["data"]["restock"] is False
    assert availability(product).on_hand == 8
    subjects = sorted(message["Subject"].split()[1] for message in receipts(smtp, payment))
    assert subjects == ["receipt", "refund"]


def test_a_dispute_marks_the_payment_disputed(server, pending):
    payment, intent = pending
    dispute = {**stripe_server.fixture("dispute"), "payment_intent": intent["id"]}

    response = deliver_signed(server, "charge.dispute.created", dispute)

    assert response.status_code == 200, response.text
    payment.refresh_from_db()
    assert payment.disputed_at is not None


def test_an_event_we_do_not_handle_is_accepted_once(server):
    customer = {"id": "cus_1", "object": "customer"}
    assert deliver_signed(server, "customer.created", customer).status_code == 200
    assert WebhookEvent.objects.get().type == "customer.created"


@pytest.mark.parametrize("provider", ["sandbox", "paypal"])
def test_only_stripe_has_a_webhook(server, provider):
    payload = event("payment_intent.succeeded", {})
    response = deliver(server, payload, signed(payload), provider=provider)
    assert response.status_code == 404
    assert response.json()["code"] == "not_found"
