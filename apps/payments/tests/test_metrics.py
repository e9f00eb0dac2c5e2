"""Purchases by outcome, money taken and refunds are counted once their transaction commits."""

import uuid

import pytest

from tests.support.metrics import sample
from tests.support.purchases import PURCHASE_DATABASES, purchase


def _purchases(outcome: str) -> float:
    return sample("shop_purchases_total", outcome=outcome)


@pytest.mark.django_db(databases=PURCHASE_DATABASES, transaction=True)
def test_purchases_by_outcome_amount_sold_and_refunds(shopper_client, staff_client, stocked_product):
    outcomes = ("completed", "payment_declined", "insufficient_stock", "invalid_product")
    before = {outcome: _purchases(outcome) for outcome in outcomes}
    sold_before = sample("shop_amount_sold_total", currency="EUR")
    refunds_before = sample("shop_refunds_total")
    product = stocked_product("10.25", stock=3, currency="EUR")

    key = str(uuid.uuid4())
    paid = purchase(shopper_client, [(product, 2)], key=key)
    replayed = purchase(shopper_client, [(product, 2)], key=key)  # the same purchase: counted once
    assert purchase(shopper_client, [(product, 1)], token="tok_chargeDeclined").status_code == 402
    assert purchase(shopper_client, [(product, 5)]).status_code == 409
    assert purchase(shopper_client, [(stocked_product(status="inactive"), 1)]).status_code == 400
    refund = staff_client.post(f"/api/v1/payments/{paid.json()['id']}/refund", {"restock": True},
                               format="json")

    assert paid.status_code == 201 and replayed.headers["Idempotent-Replayed"] == "true"
    assert refund.status_code == 200
    counted = {outcome: _purchases(outcome) - before[outcome] for outcome in outcomes}
    assert counted == dict.fromkeys(outcomes, 1)
    assert sample("shop_amount_sold_total", currency="EUR") == sold_before + 20.50
    assert sample("shop_refunds_total") == refunds_before + 1

