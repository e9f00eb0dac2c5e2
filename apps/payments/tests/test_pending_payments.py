"""resolve_pending_payments: a payment whose request died (crash, or a database lost from the
charge on) is settled by asking the provider whether it was charged."""

import uuid
from datetime import timedelta

import pytest
from django.core.management import call_command
from django.utils import timezone

from apps.inventory import interface as inventory
from apps.payments import idempotency, services, tasks
from apps.payments.models import IdempotencyKey, OutboxEvent, Payment, SandboxCharge
from apps.payments.providers import get_provider
from tests.support.purchases import PURCHASE_DATABASES, availability, purchase, purchase_body

pytestmark = pytest.mark.django_db(databases=PURCHASE_DATABASES, transaction=True)


def _left_pending(user_id, product, key: str, *, charged: bool, minutes_ago: int = 5) -> Payment:
    """What a purchase leaves behind when its process dies after reserving (and charging): the
    same steps services.purchase takes, then nothing more."""
    fingerprint = idempotency.request_fingerprint("POST", "/api/v1/payments", purchase_body([(product, 1)]))
    opening = services._open_payment(uuid.uuid4(), user_id, "", [services.PurchaseLine(product, 1)])
    claimed = idempotency.claim(user_id, key, fingerprint, opening)
    payment = claimed.payment
    inventory.reserve(str(payment.id), [inventory.StockLine(product, 1)])
    if charged:
        get_provider().charge(payment.amount, payment.currency, "tok_visa", idempotency_key=str(payment.id))
    then = timezone.now() - timedelta(minutes=minutes_ago)
    Payment.objects.filter(pk=payment.pk).update(created_at=then)
    IdempotencyKey.objects.filter(pk=claimed.pk).update(locked_at=then)
    return payment


def _resolve(capsys) -> str:
    call_command("resolve_pending_payments", "--older-than", "60")
    return capsys.readouterr().out


def test_a_charged_payment_completes_with_its_event_and_its_key_replays_201(
        shopper_client, shopper_id, stocked_product, capsys):
    product = stocked_product(stock=5)
    payment = _left_pending(shopper_id, product, "crashed-after-charge", charged=True)
    assert availability(product).reserved == 1

    assert "Succeeded 1, failed 0" in _resolve(capsys)
    payment.refresh_from_db()
    assert payment.status == Payment.Status.SUCCEEDED
    assert payment.provider_charge_id == SandboxCharge.objects.get().id
    assert OutboxEvent.objects.filter(type=services.PURCHASE_COMPLETED).count() == 1
    assert (availability(product).on_hand, availability(product).reserved) == (4, 0)  # the sale

    retried = purchase(shopper_client, [(product, 1)], key="crashed-after-charge")
    assert retried.status_code == 201
    assert retried["Idempotent-Replayed"] == "true"
    assert retried.json()["id"] == str(payment.id)
    assert SandboxCharge.objects.count() == 1  # never charged twice


def test_an_uncharged_payment_fails_releases_its_units_and_frees_its_key(
        shopper_client, shopper_id, stocked_product, capsys):
    product = stocked_product(stock=5)
    payment = _left_pending(shopper_id, product, "crashed-before-charge", charged=False)

    assert "Succeeded 0, failed 1" in _resolve(capsys)
    payment.refresh_from_db()
    assert (payment.status, payment.failure_code) == (Payment.Status.FAILED, services.ABANDONED)
    assert (availability(product).on_hand, availability(product).reserved) == (5, 0)
    assert OutboxEvent.objects.filter(type=services.PURCHASE_COMPLETED).count() == 0

    retried = purchase(shopper_client, [(product, 1)], key="crashed-before-charge")
    assert retried.status_code == 201, retried.json()
    assert retried.json()["id"] != str(payment.id)
    assert SandboxCharge.objects.count() == 1


def test_a_payment_whose_request_still_runs_or_is_recent_is_left_alone(shopper_id, stocked_product, capsys):
    product = stocked_product(stock=5)
    running = _left_pending(shopper_id, product, "still-running", charged=False)
    IdempotencyKey.objects.filter(payment=running).update(locked_at=timezone.now())
    recent = _left_pending(shopper_id, product, "recent", charged=True, minutes_ago=0)

    assert "left to their running request 1" in _resolve(capsys)
    assert set(Payment.objects.values_list("id", "status")) == {
        (running.id, Payment.Status.PENDING), (recent.id, Payment.Status.PENDING),
    }
    assert availability(product).reserved == 2


def test_a_pending_payment_whose_key_expired_is_still_settled(shopper_id, stocked_product, capsys):
    product = stocked_product(stock=5)
    payment = _left_pending(shopper_id, product, "long-gone", charged=True)
    IdempotencyKey.objects.all().delete()  # purged after IDEMPOTENCY_KEY_TTL_SECONDS

    assert "Succeeded 1" in _resolve(capsys)
    assert Payment.objects.get(pk=payment.pk).status == Payment.Status.SUCCEEDED
    assert availability(product).on_hand == 4


def test_beat_runs_the_sweeper_task(shopper_id, stocked_product, settings):
    assert settings.CELERY_BEAT_SCHEDULE["payments.resolve_pending_payments"]["task"] == \
        tasks.resolve_pending_payments.name
    product = stocked_product(stock=5)
    _left_pending(shopper_id, product, "for-beat", charged=False)
    assert tasks.resolve_pending_payments() == {"failed": 1}
    assert availability(product).reserved == 0
