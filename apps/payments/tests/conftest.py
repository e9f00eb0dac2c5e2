"""Purchases through the REST API, with a real catalogue and real stock behind them.

Products are created through the products API and stock received through the inventory
interface: payments' tests use the other apps only as their public faces.
"""

import uuid

import pytest
from rest_framework.test import APIClient

from apps.inventory import interface as inventory
from tests.support.users import authorization

# users too: without Kafka, a committed purchase's event reaches users' receipt handler in-process.
PURCHASE_DATABASES = ["users", "products", "inventory", "payments"]
VISA = "tok_visa"


def client_for(user_id: uuid.UUID | None = None, *, is_staff: bool = False,
               email: str | None = None) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=authorization(is_staff=is_staff, user_id=user_id or uuid.uuid4(),
                                                         email=email))
    return client


def purchase_body(lines, token=VISA) -> dict:
    """The body of POST /payments for `lines` [(product_id, quantity)]."""
    items = [{"product_id": str(product_id), "quantity": quantity} for product_id, quantity in lines]
    return {"items": items, "payment_method": {"token": token}}


def purchase(client, lines, *, token=VISA, key=None):
    """POST /payments for `lines`, with a fresh Idempotency-Key unless `key` is given."""
    return client.post("/api/v1/payments", purchase_body(lines, token), format="json",
                       headers={"Idempotency-Key": key or str(uuid.uuid4())})


def availability(product_id) -> inventory.Availability:
    return inventory.get_availability([product_id])[product_id]


@pytest.fixture
def shopper_id():
    return uuid.uuid4()


@pytest.fixture
def shopper(shopper_id):
    return client_for(shopper_id)


@pytest.fixture
def staff():
    return client_for(is_staff=True)


@pytest.fixture
def make_product(staff):
    """A product in the catalogue with `stock` units on hand; returns its id."""
    def make(price="19.99", *, stock=10, currency="USD", status="active", name="Thing"):
        response = staff.post("/api/v1/products", {
            "sku": f"SKU-{uuid.uuid4().hex[:12]}", "name": name, "price": price,
            "currency": currency, "status": status,
        }, format="json")
        assert response.status_code == 201, response.json()
        product_id = uuid.UUID(response.json()["id"])
        if stock:
            inventory.receive_stock(f"receipt-{uuid.uuid4()}", [inventory.StockLine(product_id, stock)],
                                    reason="received")
        return product_id

    return make
