"""POST /payments: price, reserve, charge, commit with the event; and every way it can fail."""

import uuid
from decimal import Decimal

import pytest

from apps.payments.models import IdempotencyKey, OutboxEvent, Payment, SandboxCharge
from apps.products import interface as products
from tests.support.clients import client_for
from tests.support.problems import assert_problem
from tests.support.purchases import PURCHASE_DATABASES, availability, purchase

pytestmark = pytest.mark.django_db(databases=PURCHASE_DATABASES)


def test_a_purchase_prices_reserves_charges_and_records_its_event(shopper_client, shopper_id,
                                                                  stocked_product):
    pen, ink = stocked_product("19.99", stock=10), stocked_product("2.50", stock=5)

    response = purchase(shopper_client, [(pen, 2), (ink, 3)])

    assert response.status_code == 201, response.json()
    body = response.json()
    assert body["status"] == "succeeded"
    assert (body["amount"], body["currency"], body["user_id"]) == ("47.48", "USD", str(shopper_id))
    assert body["items"] == [
        {"product_id": str(pen), "quantity": 2, "unit_price": "19.99", "sku": sku_of(pen), "name": "Thing"},
        {"product_id": str(ink), "quantity": 3, "unit_price": "2.50", "sku": sku_of(ink), "name": "Thing"},
    ]
    assert body["created_at"].endswith("Z")
    assert "Idempotent-Replayed" not in response.headers
    payment = Payment.objects.get(pk=body["id"])
    assert payment.status == "succeeded"
    assert payment.customer_email == f"user-{shopper_id}@example.com"  # from the access token
    assert payment.provider_charge_id == SandboxCharge.objects.get().id
    # Reserved now; the purchase_completed event turns the reservation into a sale.
    assert (availability(pen).reserved, availability(pen).available) == (2, 8)
    event = OutboxEvent.objects.get()
    assert (event.topic, event.key) == ("payments.events", body["id"])
    assert event.type == "payments.purchase_completed"
    assert event.payload["specversion"] == "1.0"
    assert event.payload["source"] == "/payments"
    assert event.payload["data"] == {
        "payment_id": body["id"], "user_id": str(shopper_id), "amount": "47.48", "currency": "USD",
        "items": body["items"],  # the lines as the payment recorded them, names and SKUs too
    }


def sku_of(product_id) -> str:
    return products.get_products([product_id])[product_id].sku


def test_a_payment_keeps_the_names_and_skus_its_products_had(shopper_client, staff_client, stocked_product):
    pen = stocked_product("19.99", stock=10, name="Fountain pen")
    body = purchase(shopper_client, [(pen, 1)]).json()
    staff_client.patch(f"/api/v1/products/{pen}", {"name": "Renamed pen"}, format="json")

    again = shopper_client.get(f"/api/v1/payments/{body['id']}").json()
    assert [(item["sku"], item["name"]) for item in again["items"]] == [(sku_of(pen), "Fountain pen")]


@pytest.mark.django_db(databases=PURCHASE_DATABASES, transaction=True)
def test_the_sale_reaches_inventory_through_the_event(shopper_client, stocked_product):
    product = stocked_product(stock=10)
    assert purchase(shopper_client, [(product, 3)]).status_code == 201
    stock = availability(product)
    assert (stock.on_hand, stock.reserved, stock.available) == (7, 0, 7)
    assert not OutboxEvent.objects.filter(sent_at__isnull=True).exists()


def test_a_declined_card_fails_the_payment_and_releases_the_stock(shopper_client, stocked_product):
    product = stocked_product(stock=10)

    response = purchase(shopper_client, [(product, 4)], token="tok_chargeDeclined")

    problem = assert_problem(response, 402, "payment_declined")
    assert problem["decline_code"] == "card_declined"
    payment = Payment.objects.get(pk=problem["payment_id"])
    assert (payment.status, payment.failure_code) == ("failed", "payment_declined")
    stock = availability(product)
    assert (stock.on_hand, stock.reserved, stock.available) == (10, 0, 10)
    assert not OutboxEvent.objects.exists()
    assert shopper_client.get(f"/api/v1/payments/{payment.id}").json()["status"] == "failed"


def test_a_provider_processing_error_is_502_and_charges_nothing(shopper_client, stocked_product):
    product = stocked_product(stock=10)

    response = purchase(shopper_client, [(product, 1)], token="tok_processingError")

    assert response.status_code == 502
    assert response.json()["code"] == "payment_provider_error"
    assert Payment.objects.get().status == "failed"
    assert not SandboxCharge.objects.exists()
    assert availability(product).reserved == 0


def test_insufficient_stock_names_the_product_and_reserves_and_charges_nothing(shopper_client,
                                                                               stocked_product):
    plenty, scarce = stocked_product(stock=10), stocked_product(stock=2)

    response = purchase(shopper_client, [(plenty, 1), (scarce, 3)])

    assert response.status_code == 409
    problem = response.json()
    assert problem["code"] == "insufficient_stock"
    assert (problem["product_id"], problem["available"]) == (str(scarce), 2)
    assert availability(plenty).reserved == availability(scarce).reserved == 0
    assert not SandboxCharge.objects.exists()
    assert Payment.objects.get().failure_code == "insufficient_stock"


def test_unknown_and_inactive_products_are_invalid(shopper_client, stocked_product):
    active, inactive, unknown = stocked_product(), stocked_product(status="inactive"), uuid.uuid4()

    response = purchase(shopper_client, [(active, 1), (inactive, 1), (unknown, 1)])

    assert response.status_code == 400
    problem = response.json()
    assert problem["code"] == "invalid_product"
    assert sorted(problem["product_ids"]) == sorted([str(inactive), str(unknown)])
    assert not Payment.objects.exists()
    assert availability(active).reserved == 0


def test_products_in_two_currencies_cannot_be_paid_together(shopper_client, stocked_product):
    response = purchase(shopper_client, [(stocked_product(currency="USD"), 1),
                                         (stocked_product(currency="EUR"), 1)])
    assert response.status_code == 400
    assert (response.json()["code"], response.json()["currencies"]) == ("mixed_currencies", ["EUR", "USD"])


def test_the_amount_is_exact_decimal_arithmetic(shopper_client, stocked_product):
    lines = [(stocked_product("0.10", stock=1000), 3), (stocked_product("0.20", stock=10), 1)]
    response = purchase(shopper_client, lines)
    assert response.json()["amount"] == "0.50"
    assert Payment.objects.get().amount == Decimal("0.50")


def _line(quantity=1, product_id=None):
    return {"product_id": product_id or str(uuid.uuid4()), "quantity": quantity}


TOKEN = {"token": "tok_visa"}


@pytest.mark.parametrize(("body", "field"), [
    ({"payment_method": TOKEN}, "items"),
    ({"items": [], "payment_method": TOKEN}, "items"),
    ({"items": [_line(product_id="nope")], "payment_method": TOKEN}, "items"),
    ({"items": [_line(0)], "payment_method": TOKEN}, "items"),
    ({"items": [_line(1001)], "payment_method": TOKEN}, "items"),
    ({"items": [_line(1.5)], "payment_method": TOKEN}, "items"),
    ({"items": [_line() for _ in range(101)], "payment_method": TOKEN}, "items"),
    ({"items": [_line()]}, "payment_method"),
    ({"items": [_line()], "payment_method": {}}, "payment_method"),
    ({"items": [_line()], "payment_method": {"token": ""}}, "payment_method"),
    ({"items": "all of them", "payment_method": "cash"}, "items"),
])
def test_invalid_bodies_are_400_naming_the_field(shopper_client, body, field):
    response = shopper_client.post("/api/v1/payments", body, format="json", headers={"Idempotency-Key": "k1"})
    assert response.status_code == 400
    assert response.json()["code"] == "validation_error"
    assert field in response.json()["errors"]
    assert not IdempotencyKey.objects.exists()  # a request that did not run stores nothing


def test_a_product_listed_twice_is_refused(shopper_client):
    product = uuid.uuid4()
    response = purchase(shopper_client, [(product, 1), (product, 2)])
    assert response.status_code == 400
    assert "appears more than once" in response.json()["errors"]["items"][0]


def test_a_body_that_is_not_json_is_400(shopper_client):
    response = shopper_client.post("/api/v1/payments", "{items", content_type="application/json",
                            headers={"Idempotency-Key": "k1"})
    assert response.status_code == 400


@pytest.mark.parametrize("headers", [{}, {"Idempotency-Key": ""}, {"Idempotency-Key": "   "}])
def test_the_idempotency_key_is_required(shopper_client, headers):
    response = shopper_client.post("/api/v1/payments", {"items": []}, format="json", headers=headers)
    assert response.status_code == 400
    assert response.json()["code"] == "idempotency_key_required"


def test_an_idempotency_key_longer_than_255_characters_is_refused(shopper_client, stocked_product):
    assert purchase(shopper_client, [(stocked_product(), 1)], key="k" * 255).status_code == 201
    response = purchase(shopper_client, [(stocked_product(), 1)], key="k" * 256)
    assert response.status_code == 400
    assert "Idempotency-Key" in response.json()["errors"]


def test_anonymous_purchases_are_401(api_client):
    response = api_client.post("/api/v1/payments", {}, format="json", headers={"Idempotency-Key": "k"})
    assert response.status_code == 401


def test_other_users_payments_are_unaffected(stocked_product):
    product = stocked_product(stock=3)
    assert purchase(client_for(), [(product, 1)]).status_code == 201
    assert purchase(client_for(), [(product, 2)]).status_code == 201
    assert purchase(client_for(), [(product, 1)]).json()["code"] == "insufficient_stock"
    assert Payment.objects.filter(status="succeeded").count() == 2


def test_a_total_beyond_the_amount_column_is_400_naming_the_items_before_anything_is_written(
        shopper_client, stocked_product):
    product = stocked_product("9999999999.99")
    response = purchase(shopper_client, [(product, 2)], key="too-much")
    assert response.status_code == 400
    assert (response.json()["code"], list(response.json()["errors"])) == ("validation_error", ["items"])
    assert not Payment.objects.exists()
    assert availability(product).reserved == 0
    # The key is not stuck: it replays the same answer at once.
    again = purchase(shopper_client, [(product, 2)], key="too-much")
    assert (again.status_code, again.headers["Idempotent-Replayed"]) == (400, "true")
