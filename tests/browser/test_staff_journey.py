"""A staff member runs the shop from the admin in a real browser; the REST API shows each step."""

import itertools
import uuid

import pytest
from playwright.sync_api import expect

from tests.support.browser import sign_in
from tests.support.processes import ARTIFACTS
from tests.support.users import StaffFactory, UserFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(databases="__all__", transaction=True)]


@pytest.fixture
def snap(page):
    """`snap(name)`: a screenshot of the step, numbered, kept with the test artifacts (not committed)."""
    folder = ARTIFACTS / "browser" / "staff-journey"
    folder.mkdir(parents=True, exist_ok=True)
    steps = itertools.count(1)

    def take(name):
        page.screenshot(path=folder / f"{next(steps):02d}-{name}.png", full_page=True)

    return take


def save_and_expect_success(page):
    page.click("input[name=_save]")
    return page.wait_for_selector(".messagelist .success").inner_text()


def run_action(page, action, *selected):
    for value in selected:
        page.check(f"input[name=_selected_action][value='{value}']")
    page.select_option("select[name=action]", action)
    page.click("button[name=index]")


def test_staff_run_the_shop_from_stocking_a_product_to_refunding_and_retiring_it(page, shop_api, snap):
    staff = StaffFactory(is_superuser=True)
    shopper = UserFactory()
    sku = f"GT-{uuid.uuid4().hex[:8]}"
    sign_in(page, staff.email)
    expect(page.locator("#content")).to_contain_text("Operations")
    snap("index")

    # A category: the slug is filled in from the name as staff type it.
    page.goto("/admin/products/category/add/")
    page.locator("#id_name").press_sequentially("Garden Tools")
    expect(page.locator("#id_slug")).to_have_value("garden-tools")
    save_and_expect_success(page)
    [category] = [c for c in shop_api.expect("GET", "/categories?page_size=100")["results"]
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
    [product] = shop_api.expect("GET", f"/products?category={category['id']}")["results"]
    assert (product["sku"], product["price"], product["currency"], product["in_stock"]) == (
        sku, "24.50", "USD", False)

    product_id = product["id"]
    staff_api = shop_api.signed_in(staff.email)
    snap("product-saved")

    # Never stocked, yet its stock record exists from the product event: it is low on stock.
    low = staff_api.expect("GET", "/inventory/low-stock?page_size=100")["results"]
    assert {"product_id": product_id, "sku": sku, "name": "Pruning shears", "available": 0} in [
        {key: row[key] for key in ("product_id", "sku", "name", "available")} for row in low]
    page.goto("/admin/inventory/stockrecord/?low_stock=yes")
    expect(page.locator("#result_list")).to_contain_text(sku)
    snap("low-stock")

    # Found by its SKU, its first units, then a correction, through the adjust action.
    page.goto(f"/admin/inventory/stockrecord/?q={sku}")
    expect(page.locator("#result_list tbody tr")).to_have_count(1)
    expect(page.locator("#result_list")).to_contain_text("Pruning shears")
    snap("stock-search")
    for delta, reason in [("10", "first delivery"), ("-2", "two damaged in transit")]:
        run_action(page, "adjust_stock", product_id)
        page.fill("#id_delta", delta)
        page.fill("#id_reason", reason)
        page.click("input[type=submit][value='Adjust stock']")
        assert "1 product(s) changed" in page.wait_for_selector(".messagelist .success").inner_text()
    stock = staff_api.expect("GET", f"/inventory/{product_id}")
    assert (stock["on_hand"], stock["reserved"], stock["available"]) == (8, 0, 8)
    assert shop_api.expect("GET", f"/products/{product_id}")["in_stock"] is True
    ledger = staff_api.expect("GET", f"/inventory/{product_id}/adjustments")["results"]
    assert [(entry["delta"], entry["reason"], entry["actor_email"]) for entry in ledger] == [
        (-2, "two damaged in transit", staff.email), (10, "first delivery", staff.email)]

    # A shopper buys three through the API.
    shopper_api = shop_api.signed_in(shopper.email)
    response = shopper_api.purchase([(product_id, 3)])
    assert response.status_code == 201, response.text
    payment = response.json()
    assert (payment["status"], payment["amount"]) == ("succeeded", "73.50")
    assert [(item["sku"], item["name"]) for item in payment["items"]] == [(sku, "Pruning shears")]
    stock = staff_api.expect("GET", f"/inventory/{product_id}")
    assert (stock["on_hand"], stock["reserved"]) == (5, 0)

    # Staff find it by the shopper's e-mail and see what was bought.
    page.goto(f"/admin/payments/payment/?q={shopper.email}")
    row = page.wait_for_selector(f"#result_list tr:has-text('{payment['id']}')")
    assert shopper.email in row.inner_text() and "73.50" in row.inner_text()
    snap("payment-search")
    page.click(f"#result_list tr:has-text('{payment['id']}') a:has-text('{shopper.email}')")
    expect(page.locator(".inline-group")).to_contain_text("Pruning shears")
    expect(page.locator("input[name=_save]")).to_have_count(0)  # read-only: no Save
    snap("payment")

    # The Refund button asks first: amount, lines, restock.
    page.click("a.refund-link")
    expect(page.locator("#content")).to_contain_text("73.50 USD")
    expect(page.locator(".refund-payment")).to_contain_text("Pruning shears")
    expect(page.locator("input[name=restock]")).to_be_checked()
    snap("refund-confirmation")
    page.click("input[type=submit][value=Refund]")
    assert "refunded and its units put back on hand" in page.wait_for_selector(
        ".messagelist .success").inner_text()
    expect(page.locator(".field-refunded_by_email")).to_contain_text(staff.email)
    snap("payment-refunded")

    refunded = shopper_api.expect("GET", f"/payments/{payment['id']}")
    assert refunded["status"] == "refunded"
    stock = staff_api.expect("GET", f"/inventory/{product_id}")
    assert (stock["on_hand"], stock["available"]) == (8, 8)

    # The ledger names the refund's actor.
    page.goto(f"/admin/inventory/stockadjustment/?q={sku}&kind__exact=refund")
    row = page.wait_for_selector(f"#result_list tr:has-text('{payment['id']}')")
    cells = {cell.inner_text().strip() for cell in row.query_selector_all("td")}
    assert {"Refund", "3", "Pruning shears", staff.email} <= cells
    snap("ledger")

    # Deleting the sold product deactivates it: payments and inventory keep it.
    page.goto(f"/admin/products/product/{product_id}/change/")
    expect(page.locator("#product-stock")).to_contain_text("8 available")
    snap("product-with-stock")
    page.click("a.deletelink")
    snap("deactivate-confirmation")
    page.click("input[type=submit][value='Yes, deactivate it']")
    assert "was deactivated" in page.wait_for_selector(".messagelist .success").inner_text()
    assert staff_api.expect("GET", f"/products/{product_id}")["status"] == "inactive"
    shop_api.expect("GET", f"/products/{product_id}", 404)
    page.goto(f"/admin/payments/payment/{payment['id']}/change/")
    expect(page.locator(".inline-group")).to_contain_text("Pruning shears")
    page.goto(f"/admin/inventory/stockrecord/?q={sku}")
    expect(page.locator("#result_list")).to_contain_text("Inactive")
    snap("stock-after-deactivation")
