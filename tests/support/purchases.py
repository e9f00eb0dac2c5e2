"""Purchases through the REST API, with a real catalogue and real stock behind them (products
through the products API, stock through the inventory interface: the other apps' public faces)."""

import uuid

from apps.inventory import interface as inventory

# users too: without Kafka, a committed purchase's event reaches users' receipt handler in-process.
PURCHASE_DATABASES = ["users", "products", "inventory", "payments"]
VISA = "tok_visa"  # the sandbox provider's card that always succeeds


def purchase_body(lines, token=VISA) -> dict:
    """The body of POST /payments for `lines` [(product_id, quantity)]."""
    items = [{"product_id": str(product_id), "quantity": quantity} for product_id, quantity in lines]
    return {"items": items, "payment_method": {"token": token}}


def purchase(client, lines, *, token=VISA, key=None):
    """POST /payments for `lines` with an APIClient, with a fresh Idempotency-Key unless `key` is given."""
    return client.post("/api/v1/payments", purchase_body(lines, token), format="json",
                       headers={"Idempotency-Key": key or str(uuid.uuid4())})


def availability(product_id) -> inventory.Availability:
    return inventory.get_availability([product_id])[product_id]


def create_stocked_product(staff_client, price="19.99", *, stock=10, currency="USD", status="active",
                           name="Thing") -> uuid.UUID:
    """A product in the catalogue (created by `staff_client`) with `stock` units on hand; its id."""
    response = staff_client.post("/api/v1/products", {
        "sku": f"SKU-{uuid.uuid4().hex[:12]}", "name": name, "price": price,
        "currency": currency, "status": status,
    }, format="json")
    assert response.status_code == 201, response.json()
    product_id = uuid.UUID(response.json()["id"])
    if stock:
        inventory.receive_stock(f"receipt-{uuid.uuid4()}", [inventory.StockLine(product_id, stock)],
                                reason="received")
    return product_id
