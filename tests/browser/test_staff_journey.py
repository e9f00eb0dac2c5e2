"""A staff member runs the shop from the admin in a real browser; the REST API shows each step."""

import uuid

import pytest
from playwright.sync_api import expect

from tests.browser.conftest import sign_in
from tests.support.users import StaffFactory, UserFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(databases="__all__", transaction=True)]


def save_and_expect_success(page):
    page.click("input[name=_save]")
    return page.wait_for_selector(".messagelist .success").inner_text()


def run_action(page, action, *selected):
    for value in selected:
        page.check(f"input[name=_selected_action][value='{value}']")
    page.select_option("select[name=action]", action)
    page.click("button[name=index]")


def test_staff_stock_a_new_product_and_refund_a_shoppers_purchase(page, api):
    staff = StaffFactory(is_superuser=True)
    shopper = UserFactory()
    sku = f"GT-{uuid.uuid4().hex[:8]}"
    sign_in(page, staff.email)

    # A category: the slug is filled in from the name as staff type it.
    page.goto("/admin/products/category/add/")
    page.locator("#id_name").press_sequentially("Garden Tools")
    expect(page.locator("#id_slug")).to_have_value("garden-tools")
    save_and_expect_success(page)
    [category] = [c for c in api.call("GET", "categories?page_size=100")["results"]
                  if c["slug"] == "garden-tools"]

    # A product in it, the category picked from the autocomplete.
    page.goto("/admin/products/product/add/")
    page.fill("#id_sku", sku)
    page.fill("#id_name", "Pruning shears")
    page.fill("#id_description", "Bypass shears for green wood.")
    page.fill("#id_price", "24.50")
    page.click(".field-category .select2-selection")
    page.fill(".select2-search__field", "Garden")
    page.click(".select2-results__option:has-text('Garden Tools')")
    save_and_expect_success(page)
    [product] = api.call("GET", f"products?category={category['id']}")["results"]
    assert (product["sku"], product["price"], product["currency"], product["in_stock"]) == (
        sku, "24.50", "USD", False)
    product_id = product["id"]
    staff_token = api.token(staff.email)

    # Its first units, then a correction through the adjust action.
    page.goto("/admin/inventory/stockrecord/add/")
    page.fill("#id_product_id", product_id)
    page.fill("#id_on_hand", "10")
    page.fill("#id_reason", "first delivery")
    save_and_expect_success(page)
    assert api.call("GET", f"inventory/{product_id}")["available"] == 10
    assert api.call("GET", f"products/{product_id}")["in_stock"] is True

    page.goto("/admin/inventory/stockrecord/")
    run_action(page, "adjust_stock", product_id)
    page.fill("#id_delta", "-2")
    page.fill("#id_reason", "two damaged in transit")
    page.click("input[type=submit][value='Adjust stock']")
    assert "1 product(s) changed" in page.wait_for_selector(".messagelist .success").inner_text()
    stock = api.call("GET", f"inventory/{product_id}", token=staff_token)
    assert (stock["on_hand"], stock["reserved"], stock["available"]) == (8, 0, 8)
    ledger = api.call("GET", f"inventory/{product_id}/adjustments", token=staff_token)["results"]
    assert [(entry["delta"], entry["reason"]) for entry in ledger] == [
        (-2, "two damaged in transit"), (10, "first delivery")]

    # A shopper buys three through the API.
    shopper_token = api.token(shopper.email)
    payment = api.call("POST", "payments", token=shopper_token, expect=201,
                       headers={"Idempotency-Key": str(uuid.uuid4())},
                       json={"items": [{"product_id": product_id, "quantity": 3}],
                             "payment_method": {"token": "tok_visa"}})
    assert (payment["status"], payment["amount"]) == ("succeeded", "73.50")
    stock = api.call("GET", f"inventory/{product_id}", token=staff_token)
    assert (stock["on_hand"], stock["reserved"]) == (5, 0)

    # Staff find it among the shopper's payments and refund it, units back on hand.
    page.goto(f"/admin/payments/payment/?q={shopper.id}")
    row = page.wait_for_selector(f"#result_list tr:has-text('{payment['id']}')")
    assert "Succeeded\t73.50\tUSD" in row.inner_text()
    run_action(page, "refund_and_restock", payment["id"])
    assert "refunded" in page.wait_for_selector(".messagelist .success").inner_text()

    refunded = api.call("GET", f"payments/{payment['id']}", token=shopper_token)
    assert refunded["status"] == "refunded"
    stock = api.call("GET", f"inventory/{product_id}", token=staff_token)
    assert (stock["on_hand"], stock["available"]) == (8, 8)
