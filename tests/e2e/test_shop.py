"""The REST contract end to end, in the monolith and in split mode alike: register, sign in,
browse, stock, buy, events applied, refund, and the errors along the way."""

import uuid

from tests.support.api import Api
from tests.support.polling import wait_until
from tests.support.problems import assert_problem


def test_register_sign_in_and_account_errors(deployment):
    anonymous = Api(deployment.base_url)
    email = anonymous.register()
    assert_problem(anonymous.post("/auth/register", {"email": email, "password": "another-Horse-5"}),
                   409, "email_taken")
    assert_problem(anonymous.post("/auth/token", {"email": email, "password": "wrong-Horse-5"}),
                   401, "invalid_credentials")
    assert_problem(anonymous.get("/users/me"), 401, "not_authenticated")

    shopper = anonymous.signed_in(email)
    me = shopper.get("/users/me")
    assert me.status_code == 200
    assert (me.json()["email"], me.json()["is_staff"]) == (email, False)
    assert_problem(shopper.get("/users"), 403, "permission_denied")
    assert_problem(shopper.post("/categories", {"name": "Nope"}), 403, "permission_denied")


def test_browse_buy_and_refund(deployment):
    anonymous = Api(deployment.base_url)
    staff = anonymous.signed_in(deployment.staff_email, deployment.staff_password)
    shopper = anonymous.signed_in(anonymous.register())
    tag = uuid.uuid4().hex[:8]

    # Staff build the catalogue and receive stock.
    category = staff.post("/categories", {"name": f"Kites {tag}", "slug": f"kites-{tag}"})
    assert category.status_code == 201, category.text
    assert_problem(staff.post("/categories", {"name": "Again", "slug": f"kites-{tag}"}), 409, "slug_taken")
    created = staff.post("/products", {
        "sku": f"KITE-{tag}", "name": f"Stunt kite {tag}", "description": "Flies in any wind.",
        "price": "12.50", "currency": "USD", "category_id": category.json()["id"], "status": "active",
    })
    assert created.status_code == 201, created.text
    product = created.json()
    product_id = product["id"]
    assert (product["price"], product["in_stock"]) == ("12.50", False)
    received = staff.post(f"/inventory/{product_id}/adjustments", {"delta": 5, "reason": "received"})
    assert received.status_code == 201, received.text
    assert received.json()["on_hand_after"] == 5

    def in_stock() -> bool:
        return anonymous.get(f"/products/{product_id}").json()["in_stock"]

    wait_until(in_stock, "products to learn the stock from inventory's event")

    # Anyone browses: list, search, filters, detail, availability.
    found = anonymous.get("/products", params={"search": tag, "category": category.json()["id"],
                                               "in_stock": "true", "ordering": "-price"}).json()
    assert [item["id"] for item in found["results"]] == [product_id]
    assert found["count"] == 1
    assert {"count", "next", "previous", "results"} <= set(found)
    categories = anonymous.get("/categories", params={"page_size": 100}).json()["results"]
    assert f"kites-{tag}" in [item["slug"] for item in categories]
    assert anonymous.get(f"/products/{product_id}").json()["name"] == f"Stunt kite {tag}"
    assert anonymous.get(f"/inventory/{product_id}").json() == {"product_id": product_id, "available": 5}
    assert_problem(anonymous.get(f"/products/{uuid.uuid4()}"), 404, "not_found")
    assert "ordering" in assert_problem(anonymous.get("/products", params={"ordering": "colour"}),
                                        400, "validation_error")["errors"]

    # The shopper buys two; the same key replays; too many is refused naming the product.
    assert_problem(anonymous.purchase([(product_id, 1)]), 401, "not_authenticated")
    bought = shopper.purchase([(product_id, 2)], key=f"order-{tag}")
    assert bought.status_code == 201, bought.text
    payment = bought.json()
    assert (payment["status"], payment["amount"], payment["currency"]) == ("succeeded", "25.00", "USD")
    replayed = shopper.purchase([(product_id, 2)], key=f"order-{tag}")
    assert (replayed.status_code, replayed.json()) == (201, payment)
    assert replayed.headers["Idempotent-Replayed"] == "true"
    refused = assert_problem(shopper.purchase([(product_id, 10)]), 409, "insufficient_stock")
    assert refused["product_id"] == product_id
    assert refused["available"] == 3

    # The purchase event turns the reservation into a sale in inventory.
    def stock() -> dict:
        return staff.get(f"/inventory/{product_id}").json()

    wait_until(lambda: stock()["on_hand"] == 3 and stock()["reserved"] == 0, "the sale to be applied")
    ledger = staff.get(f"/inventory/{product_id}/adjustments").json()["results"]
    assert [entry["delta"] for entry in ledger] == [-2, 5]

    # Selling the rest empties the shelf; the catalogue follows.
    assert shopper.purchase([(product_id, 3)]).status_code == 201
    wait_until(lambda: not in_stock(), "products to learn the product sold out")

    # Payments are private; refunds are for staff, once, and restock through an event.
    assert [item["id"] for item in shopper.get("/payments").json()["results"]][-1] == payment["id"]
    stranger = anonymous.signed_in(anonymous.register())
    assert_problem(stranger.get(f"/payments/{payment['id']}"), 404, "not_found")
    refund = f"/payments/{payment['id']}/refund"
    assert_problem(shopper.post(refund, {"restock": True}), 403, "permission_denied")
    refunded = staff.post(refund, {"restock": True})
    assert refunded.status_code == 200, refunded.text
    assert refunded.json()["status"] == "refunded"
    assert_problem(staff.post(refund, {"restock": True}), 409, "already_refunded")
    wait_until(lambda: stock()["on_hand"] == 2, "the refund's restock to be applied")
    wait_until(in_stock, "products to learn the product is back in stock")
