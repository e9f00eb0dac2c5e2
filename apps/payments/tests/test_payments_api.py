"""GET /payments, GET /payments/{id}, POST /payments/{id}/refund: who sees and does what."""

import uuid

import pytest

from apps.payments.models import OutboxEvent, Payment, SandboxCharge
from tests.support.clients import client_for
from tests.support.purchases import PURCHASE_DATABASES, availability, purchase

pytestmark = pytest.mark.django_db(databases=PURCHASE_DATABASES)


@pytest.fixture
def paid(stocked_product):
    """Two shoppers' payments: (client, user_id, [payment ids]) each; one failed, the rest succeeded."""
    product = stocked_product(stock=100)
    shoppers = []
    for count in (2, 1):
        user_id = uuid.uuid4()
        client = client_for(user_id)
        ids = [purchase(client, [(product, 1)]).json()["id"] for _ in range(count)]
        shoppers.append((client, user_id, ids))
    failed = purchase(shoppers[1][0], [(product, 1)], token="tok_chargeDeclined").json()["payment_id"]
    shoppers[1][2].append(failed)
    return shoppers


def _ids(response):
    return {payment["id"] for payment in response.json()["results"]}


def test_shoppers_list_only_their_own_payments_newest_first(paid):
    (alice, _, alice_ids), (bob, _, bob_ids) = paid
    response = alice.get("/api/v1/payments")
    assert response.status_code == 200
    assert response.json()["count"] == 2
    assert _ids(response) == set(alice_ids)
    assert [p["id"] for p in bob.get("/api/v1/payments").json()["results"]] == bob_ids[::-1]


def test_a_shopper_cannot_list_somebody_elses_payments_by_filtering(paid):
    (alice, _, _), (_, bob_id, _) = paid
    assert alice.get(f"/api/v1/payments?user_id={bob_id}").json()["count"] == 0


def test_staff_list_everyones_and_filter_by_user_and_status(paid, staff_client):
    (_, _, alice_ids), (_, bob_id, bob_ids) = paid
    assert _ids(staff_client.get("/api/v1/payments")) == set(alice_ids + bob_ids)
    assert _ids(staff_client.get(f"/api/v1/payments?user_id={bob_id}")) == set(bob_ids)
    failed = staff_client.get(f"/api/v1/payments?user_id={bob_id}&status=failed").json()["results"]
    assert [(p["id"], p["failure_code"]) for p in failed] == [(bob_ids[-1], "payment_declined")]


@pytest.mark.parametrize("query", ["user_id=nope", "status=lost", "page=0", "page_size=x"])
def test_bad_filter_values_are_400_naming_the_parameter(staff_client, query):
    response = staff_client.get(f"/api/v1/payments?{query}")
    assert response.status_code == 400
    assert query.split("=")[0] in response.json()["errors"]


def test_the_list_is_paginated(paid, staff_client):
    page = staff_client.get("/api/v1/payments?page_size=2").json()
    assert (page["count"], len(page["results"]), page["previous"]) == (4, 2, None)
    assert "page=2" in page["next"]


def test_the_owner_and_staff_see_a_payment_and_nobody_else(paid, staff_client):
    (alice, _, alice_ids), (bob, _, _) = paid
    mine = alice.get(f"/api/v1/payments/{alice_ids[0]}")
    assert mine.status_code == 200
    assert set(mine.json()) >= {"id", "status", "amount", "currency", "items", "user_id", "created_at"}
    assert staff_client.get(f"/api/v1/payments/{alice_ids[0]}").json() == mine.json()
    theirs = bob.get(f"/api/v1/payments/{alice_ids[0]}")
    assert (theirs.status_code, theirs.json()["code"]) == (404, "not_found")
    assert bob.get(f"/api/v1/payments/{uuid.uuid4()}").status_code == 404


def test_anonymous_requests_are_401(api_client, paid):
    payment_id = paid[0][2][0]
    assert api_client.get("/api/v1/payments").status_code == 401
    assert api_client.get(f"/api/v1/payments/{payment_id}").status_code == 401
    assert api_client.post(f"/api/v1/payments/{payment_id}/refund", {}, format="json").status_code == 401


def test_staff_refund_a_payment_in_full_once(paid, staff_client):
    payment_id = paid[0][2][0]
    response = staff_client.post(f"/api/v1/payments/{payment_id}/refund", {"restock": True}, format="json")

    assert response.status_code == 200
    assert response.json()["status"] == "refunded"
    assert response.json()["refunded_at"]
    payment = Payment.objects.get(pk=payment_id)
    assert SandboxCharge.objects.get(pk=payment.provider_charge_id).amount_refunded == payment.amount
    event = OutboxEvent.objects.get(type="payments.refunded")
    assert event.key == payment_id
    assert event.payload["data"] == {  # the lines as the payment recorded them, names and SKUs too
        "payment_id": payment_id, "user_id": response.json()["user_id"], "items": response.json()["items"],
        "amount": response.json()["amount"], "currency": response.json()["currency"], "restock": True,
        "actor_id": str(payment.refunded_by_id), "actor_email": payment.refunded_by_email,
    }
    assert payment.refunded_by_email.endswith("@example.com")

    again = staff_client.post(f"/api/v1/payments/{payment_id}/refund", {"restock": True}, format="json")
    assert (again.status_code, again.json()["code"]) == (409, "already_refunded")
    assert OutboxEvent.objects.filter(type="payments.refunded").count() == 1


def test_restock_defaults_to_false(paid, staff_client):
    payment_id = paid[0][2][0]
    assert staff_client.post(f"/api/v1/payments/{payment_id}/refund", {}, format="json").status_code == 200
    assert OutboxEvent.objects.get(type="payments.refunded").payload["data"]["restock"] is False


def test_only_a_succeeded_payment_is_refundable(paid, staff_client):
    failed_id = paid[1][2][-1]
    response = staff_client.post(f"/api/v1/payments/{failed_id}/refund", {"restock": True}, format="json")
    assert (response.status_code, response.json()["code"]) == (409, "not_refundable")


def test_refunds_are_for_staff_only(paid, staff_client):
    (alice, _, alice_ids), _ = paid
    response = alice.post(f"/api/v1/payments/{alice_ids[0]}/refund", {"restock": True}, format="json")
    assert response.status_code == 403
    assert Payment.objects.get(pk=alice_ids[0]).status == "succeeded"
    missing = staff_client.post(f"/api/v1/payments/{uuid.uuid4()}/refund", {}, format="json")
    assert missing.status_code == 404
    bad = staff_client.post(f"/api/v1/payments/{alice_ids[0]}/refund", {"restock": "maybe"}, format="json")
    assert (bad.status_code, list(bad.json()["errors"])) == (400, ["restock"])


@pytest.mark.django_db(databases=PURCHASE_DATABASES, transaction=True)
def test_a_refund_with_restock_puts_the_units_back_on_hand(shopper_client, staff_client, stocked_product):
    product = stocked_product(stock=10)
    payment_id = purchase(shopper_client, [(product, 4)]).json()["id"]
    assert availability(product).on_hand == 6

    staff_client.post(f"/api/v1/payments/{payment_id}/refund", {"restock": True}, format="json")

    stock = availability(product)
    assert (stock.on_hand, stock.reserved) == (10, 0)
