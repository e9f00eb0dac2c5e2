"""Idempotency-Key on POST /payments: replays, conflicts, per-user scope, 503, crash recovery."""

from datetime import timedelta

import pytest
from django.utils import timezone

from apps.inventory import interface as inventory
from apps.payments import idempotency, services
from apps.payments.models import IdempotencyKey, OutboxEvent, Payment, SandboxCharge
from tests.support.clients import client_for
from tests.support.problems import assert_problem
from tests.support.purchases import PURCHASE_DATABASES, availability, purchase, purchase_body

pytestmark = pytest.mark.django_db(databases=PURCHASE_DATABASES)


def test_the_same_request_again_replays_the_first_response_and_charges_once(shopper_client, stocked_product):
    product = stocked_product(stock=10)
    first = purchase(shopper_client, [(product, 2)], key="order-1")
    again = purchase(shopper_client, [(product, 2)], key="order-1")

    assert (first.status_code, again.status_code) == (201, 201)
    assert again.content == first.content
    assert again["Idempotent-Replayed"] == "true"
    assert SandboxCharge.objects.count() == Payment.objects.count() == OutboxEvent.objects.count() == 1
    assert availability(product).reserved == 2


def test_a_failure_is_replayed_too(shopper_client, stocked_product):
    product = stocked_product(stock=10)
    first = purchase(shopper_client, [(product, 1)], token="tok_chargeDeclined", key="order-1")
    again = purchase(shopper_client, [(product, 1)], token="tok_chargeDeclined", key="order-1")
    assert_problem(again, 402, "payment_declined")
    assert again.content == first.content
    assert again["Idempotent-Replayed"] == "true"
    assert SandboxCharge.objects.count() == 1


def test_the_key_with_another_body_is_422(shopper_client, stocked_product):
    product = stocked_product(stock=10)
    assert purchase(shopper_client, [(product, 1)], key="order-1").status_code == 201
    response = purchase(shopper_client, [(product, 2)], key="order-1")
    assert response.status_code == 422
    assert response.json()["code"] == "idempotency_key_reused"
    assert Payment.objects.count() == 1


def test_the_key_while_its_first_request_runs_is_409(shopper_client, shopper_id, stocked_product):
    product = stocked_product(stock=10)
    body = purchase_body([(product, 1)])
    # The first request has claimed the key and is still running.
    fingerprint = idempotency.request_fingerprint("POST", "/api/v1/payments", body)
    idempotency.claim(shopper_id, "order-1", fingerprint)

    response = shopper_client.post("/api/v1/payments", body, format="json",
                                   headers={"Idempotency-Key": "order-1"})

    assert response.status_code == 409
    assert response.json()["code"] == "idempotency_key_in_progress"
    assert not Payment.objects.exists()


def test_keys_are_scoped_to_their_user(stocked_product):
    product = stocked_product(stock=10)
    first = purchase(client_for(), [(product, 1)], key="order-1")
    second = purchase(client_for(), [(product, 1)], key="order-1")
    assert (first.status_code, second.status_code) == (201, 201)
    assert first.json()["id"] != second.json()["id"]
    assert "Idempotent-Replayed" not in second.headers
    assert SandboxCharge.objects.count() == 2


class Crash(Exception):
    pass


def _crash(payment):
    raise Crash("the process died before the final commit")


def test_the_outcome_event_and_response_commit_together_or_not_at_all(shopper_id, stocked_product):
    product = stocked_product(stock=10)
    fingerprint = idempotency.request_fingerprint("POST", "/api/v1/payments", {"n": 1})

    with pytest.raises(Crash):
        services.purchase(user_id=shopper_id, idempotency_key="order-1", fingerprint=fingerprint,
                          lines=[services.PurchaseLine(product, 1)], token="tok_visa", render=_crash)

    assert Payment.objects.get().status == "pending"
    assert not OutboxEvent.objects.exists()
    assert IdempotencyKey.objects.get().status == "in_progress"


def test_a_key_whose_request_died_resumes_its_payment_without_charging_again(
        settings, shopper_client, shopper_id, stocked_product):
    product = stocked_product(stock=10)
    body = purchase_body([(product, 2)])
    with pytest.raises(Crash):  # charged, then died before recording the outcome
        services.purchase(
            user_id=shopper_id, idempotency_key="order-1",
            fingerprint=idempotency.request_fingerprint("POST", "/api/v1/payments", body),
            lines=[services.PurchaseLine(product, 2)], token="tok_visa", render=_crash,
        )
    dead = Payment.objects.get()
    retry = shopper_client.post("/api/v1/payments", body, format="json",
                                headers={"Idempotency-Key": "order-1"})
    assert retry.status_code == 409  # the lock is young: the request might still be running

    IdempotencyKey.objects.update(
        locked_at=timezone.now() - timedelta(seconds=settings.IDEMPOTENCY_LOCK_TIMEOUT_SECONDS + 1))
    retry = shopper_client.post("/api/v1/payments", body, format="json",
                                headers={"Idempotency-Key": "order-1"})

    assert retry.status_code == 201
    assert retry.json()["id"] == str(dead.id)
    assert SandboxCharge.objects.count() == 1
    assert OutboxEvent.objects.count() == 1
    assert availability(product).reserved == 2


def test_a_resumed_payment_whose_reservation_was_released_is_not_charged(settings, shopper_id,
                                                                         stocked_product):
    product = stocked_product(stock=10)
    fingerprint = idempotency.request_fingerprint("POST", "/api/v1/payments", {"n": 1})
    purchase_args = {"user_id": shopper_id, "idempotency_key": "order-1", "fingerprint": fingerprint,
                     "lines": [services.PurchaseLine(product, 1)], "token": "tok_visa"}
    with pytest.raises(Crash):
        services.purchase(**purchase_args, render=_crash)
    inventory.release(str(Payment.objects.get().id))  # its reservation went away meanwhile
    IdempotencyKey.objects.update(
        locked_at=timezone.now() - timedelta(seconds=settings.IDEMPOTENCY_LOCK_TIMEOUT_SECONDS + 1))

    result = services.purchase(**purchase_args, render=_crash)

    assert (result.response.status, result.response.body["code"]) == (409, "reservation_expired")
    assert SandboxCharge.objects.count() == 1  # the dead request's charge, not a second one
    assert Payment.objects.get().status == "failed"


def test_a_key_is_new_again_after_it_expires(shopper_client, stocked_product):
    product = stocked_product(stock=10)
    first = purchase(shopper_client, [(product, 1)], key="order-1")
    IdempotencyKey.objects.update(expires_at=timezone.now())
    second = purchase(shopper_client, [(product, 1)], key="order-1")
    assert second.status_code == 201
    assert second.json()["id"] != first.json()["id"]

