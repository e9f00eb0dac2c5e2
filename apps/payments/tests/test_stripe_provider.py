"""POST /payments with PAYMENT_PROVIDER=stripe: the real SDK against a local Stripe (`stripe_server`)."""

import time

import pytest

from apps.payments.models import IdempotencyKey, OutboxEvent, Payment
from apps.payments.providers import _provider, get_provider
from apps.payments.tests import stripe_server
from tests.support.clients import client_for
from tests.support.processes import free_port
from tests.support.purchases import PURCHASE_DATABASES, availability, purchase

pytestmark = pytest.mark.django_db(databases=PURCHASE_DATABASES)


@pytest.fixture
def fake_stripe(settings):
    stripe, server = stripe_server.serve()
    settings.PAYMENT_PROVIDER = "stripe"
    settings.STRIPE_API_KEY = "sk_test_local"
    settings.STRIPE_API_BASE = stripe.url
    settings.STRIPE_TIMEOUT_SECONDS = 0.5
    settings.STRIPE_MAX_NETWORK_RETRIES = 1
    _provider.cache_clear()  # its SDK client was built for other settings
    yield stripe
    _provider.cache_clear()
    server.shutdown()
    server.server_close()


def test_a_succeeded_intent_is_a_succeeded_payment(fake_stripe, shopper_client, stocked_product):
    product = stocked_product("19.99", stock=5)

    response = purchase(shopper_client, [(product, 2)], token="pm_card_visa")

    assert response.status_code == 201, response.json()
    payment = Payment.objects.get(pk=response.json()["id"])
    assert (payment.status, payment.provider) == ("succeeded", "stripe")
    [call] = fake_stripe.posts("/v1/payment_intents")
    assert call.idempotency_key == str(payment.id)
    assert call.params == {"amount": "3998", "currency": "usd", "payment_method": "pm_card_visa",
                           "payment_method_types[0]": "card", "confirm": "true",
                           "metadata[payment_id]": str(payment.id)}
    assert payment.provider_charge_id == next(iter(fake_stripe.intents))
    assert OutboxEvent.objects.get().type == "payments.purchase_completed"


def test_a_declined_card_is_402_and_releases_the_stock(fake_stripe, shopper_client, stocked_product):
    product = stocked_product(stock=5)

    response = purchase(shopper_client, [(product, 2)], token="pm_card_chargeDeclined")

    assert response.status_code == 402
    assert response.json()["code"] == "payment_declined"
    assert response.json()["decline_code"] == "generic_decline"
    assert Payment.objects.get().status == "failed"
    assert availability(product).reserved == 0
    assert not OutboxEvent.objects.exists()


def test_3d_secure_answers_202_pending_with_the_client_secret(fake_stripe, shopper_client, stocked_product):
    product = stocked_product(stock=5)

    response = purchase(shopper_client, [(product, 1)], token="pm_card_threeDSecure2Required")

    assert response.status_code == 202, response.json()
    body = response.json()
    [intent] = fake_stripe.intents.values()
    assert body["status"] == "pending"
    assert body["next_action"] == {"type": "use_stripe_sdk", "client_secret": intent["client_secret"]}
    assert Payment.objects.get().provider_charge_id == intent["id"]
    assert availability(product).reserved == 1  # held until the webhook says how it ended
    assert not OutboxEvent.objects.exists()


def test_a_500_from_stripe_is_502_after_a_retry_with_the_same_key(fake_stripe, shopper_client,
                                                                  stocked_product):
    product = stocked_product(stock=5)

    response = purchase(shopper_client, [(product, 1)], token="pm_card_internalError")

    assert response.status_code == 502
    assert response.json()["code"] == "payment_provider_error"
    payment = Payment.objects.get()
    assert payment.status == "failed"
    keys = [call.idempotency_key for call in fake_stripe.posts("/v1/payment_intents")]
    assert keys == [str(payment.id)] * 2
    assert not fake_stripe.intents  # nothing charged
    assert availability(product).reserved == 0


def test_stripe_unreachable_is_502_and_nothing_charged(fake_stripe, settings, shopper_client,
                                                       stocked_product):
    settings.STRIPE_API_BASE = f"http://127.0.0.1:{free_port()}"
    _provider.cache_clear()
    product = stocked_product(stock=5)

    response = purchase(shopper_client, [(product, 1)], token="pm_card_visa")

    assert response.status_code == 502
    assert Payment.objects.get().status == "failed"
    assert availability(product).reserved == 0


def test_a_timeout_is_503_pending_and_the_sweeper_finds_the_charge(fake_stripe, shopper_client,
                                                                   stocked_product):
    product = stocked_product(stock=5)

    response = purchase(shopper_client, [(product, 1)], token="pm_card_timeout")

    assert response.status_code == 503
    payment = Payment.objects.get()
    assert payment.status == "pending"  # maybe charged: nothing is undone
    assert IdempotencyKey.objects.get().status == "in_progress"
    assert availability(product).reserved == 1
    while not fake_stripe.intents:  # Stripe finishes the charge after the answer was given up
        time.sleep(0.05)
    charge = get_provider("stripe").find_charge(str(payment.id))
    assert charge.id == next(iter(fake_stripe.intents))


def test_an_unfinished_3d_secure_intent_is_cancelled_by_the_sweeper(fake_stripe, shopper_client,
                                                                    stocked_product):
    product = stocked_product(stock=5)
    purchase(shopper_client, [(product, 1)], token="pm_card_threeDSecure2Required")
    payment = Payment.objects.get()

    assert get_provider("stripe").find_charge(str(payment.id)) is None

    [intent] = fake_stripe.intents.values()
    assert intent["status"] == "canceled"
    assert fake_stripe.posts(f"/v1/payment_intents/{intent['id']}/cancel")


def test_an_intent_that_succeeded_since_the_search_indexed_it_is_found(fake_stripe, shopper_client,
                                                                       stocked_product):
    product = stocked_product(stock=5)
    purchase(shopper_client, [(product, 1)], token="pm_card_threeDSecure2Required")
    [intent] = fake_stripe.intents.values()
    intent.update(status="succeeded", next_action=None)  # the shopper passed 3-D Secure just now

    charge = get_provider("stripe").find_charge(str(Payment.objects.get().id))

    assert charge.id == intent["id"]
    assert intent["status"] == "succeeded"


def test_a_refund_goes_through_the_refund_api_once(fake_stripe, shopper_client, stocked_product):
    product = stocked_product("10.00", stock=5)
    payment_id = purchase(shopper_client, [(product, 1)], token="pm_card_visa").json()["id"]
    staff_client = client_for(is_staff=True)

    response = staff_client.post(f"/api/v1/payments/{payment_id}/refund", {"restock": True}, format="json")

    assert response.status_code == 200, response.json()
    assert response.json()["status"] == "refunded"
    [refund] = fake_stripe.posts("/v1/refunds")
    assert refund.params == {"payment_intent": Payment.objects.get().provider_charge_id, "amount": "1000"}
    assert refund.idempotency_key == f"refund-{refund.params['payment_intent']}"
    assert OutboxEvent.objects.filter(type="payments.refunded").count() == 1
