"""A staff member runs the shop from the admin in a real browser; the REST API shows each step.
The same journey runs in the monolith and against the split services, where products, inventory
and payments each serve their own admin and learn of each other's changes through Kafka (so what
another app shows is awaited, never assumed)."""

import itertools
import uuid

import pytest
from playwright.sync_api import expect

from tests.support.browser import sign_in
from tests.support.polling import wait_until
from tests.support.processes import ARTIFACTS

pytestmark = [pytest.mark.browser, pytest.mark.django_db(databases="__all__", transaction=True)]


@pytest.fixture
def snap(page, shop):
    """`snap(name)`: a screenshot of the step, numbered, kept with the test artifacts (not committed)."""
    folder = ARTIFACTS / "browser" / f"staff-journey-{shop.mode}"
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


def open_when_it_shows(page, url, selector, text):
    """Open `url`, reloading until `selector` shows `text` (another app's event has arrived)."""
    def shows() -> bool:
        page.goto(url)
        return any(text in shown for shown in page.locator(selector).all_inner_texts())

    wait_until(shows, f"{text!r} in {selector} of {url}")


def every_page(api, path) -> list[dict]:
    """Every row of a paginated list (a shared split deployment holds other tests' rows too)."""
    body = api.expect("GET", path)
    rows = body["results"]
    while body["next"]:
        body = api.expect("GET", body["next"].split("/api/v1", 1)[1])
        rows += body["results"]
    return rows


def test_staff_run_the_shop_from_stocking_a_product_to_refunding_and_retiring_it(page, shop, snap):
    api = shop.api
    shopper_email = shop.new_shopper()
    run = uuid.uuid4().hex[:8]
    sku = f"GT-{run}"
    for base_url in sorted({shop.admin_urls[app] for app in ("products", "inventory", "payments")}):
        sign_in(page, base_url, shop.staff_email, shop.staff_password)
        expect(page.locator("#content")).to_contain_text("Operations")
    snap("index")

    # A category: the slug is filled in from the name as staff type it.
    page.goto(shop.admin("products", "category/add/"))
    page.locator("#id_name").press_sequentially(f"Garden Tools {run}")
    expect(page.locator("#id_slug")).to_have_value(f"garden-tools-{run}")
    save_and_expect_success(page)
    [category] = [c for c in api.expect("GET", "/categories?page_size=100")["results"]
                  if c["slug"] == f"garden-tools-{run}"]

    # A product in it, the category picked from the autocomplete.
    page.goto(shop.admin("products", "product/add/"))
    page.fill("#id_sku", sku)
    page.fill("#id_name", "Pruning shears")
    page.fill("#id_description", "Bypass shears for green wood.")
    page.fill("#id_price", "24.50")
    page.click(".field-category .select2-selection")
    page.fill(".select2-search__field", run)
    page.click(f".select2-results__option:has-text('Garden Tools {run}')")
    save_and_expect_success(page)
    [product] = api.expect("GET", f"/products?category={category['id']}")["results"]
    assert (product["sku"], product["price"], product["currency"], product["in_stock"]) == (
        sku, "24.50", "USD", False)

    product_id = product["id"]
    staff_api = api.signed_in(shop.staff_email, shop.staff_password)
    snap("product-saved")

    # Never stocked, yet its stock record exists from the product event: it is low on stock.
    expected = {"product_id": product_id, "sku": sku, "name": "Pruning shears", "available": 0}
    low_stock = lambda: [{key: row[key] for key in expected}  # noqa: E731
                         for row in every_page(staff_api, "/inventory/low-stock?page_size=100")]
    wait_until(lambda: expected in low_stock(), "the new product in the low-stock list")
    page.goto(shop.admin("inventory", f"stockrecord/?low_stock=yes&q={sku}"))
    expect(page.locator("#result_list")).to_contain_text(sku)
    snap("low-stock")

    # Found by its SKU, its first units, then a correction, through the adjust action.
    page.goto(shop.admin("inventory", f"stockrecord/?q={sku}"))
    expect(page.locator("#result_list tbody tr")).to_have_count(1)
    expect(page.locator("#result_list")).to_contain_text("Pruning shears")
    snap("stock-search")
    for delta, reason in [("10", "first delivery"), ("-2", "two damaged in transit")]:
        run_action(page, "adjust_stock", product_id)
        page.fill("#id_delta", delta)
        page.fill("#id_reason", reason)
        page.click("input[type=submit][value='Adjust stock']")
        assert "1 product(s) changed" in page.wait_for_selector(".messagelist .success").inner_text()
    stock_record = staff_api.expect("GET", f"/inventory/{product_id}")
    assert (stock_record["on_hand"], stock_record["reserved"], stock_record["available"]) == (8, 0, 8)
    wait_until(lambda: api.expect("GET", f"/products/{product_id}")["in_stock"], "the catalogue's in_stock")
    ledger = staff_api.expect("GET", f"/inventory/{product_id}/adjustments")["results"]
    assert [(entry["delta"], entry["reason"], entry["actor_email"]) for entry in ledger] == [
        (-2, "two damaged in transit", shop.staff_email), (10, "first delivery", shop.staff_email)]

    # A shopper buys three through the API.
    shopper_api = api.signed_in(shopper_email)
    response = shopper_api.purchase([(product_id, 3)])
    assert response.status_code == 201, response.text
    payment = response.json()
    assert (payment["status"], payment["amount"]) == ("succeeded", "73.50")
    assert [(item["sku"], item["name"]) for item in payment["items"]] == [(sku, "Pruning shears")]

    def stock(*fields):
        record = staff_api.expect("GET", f"/inventory/{product_id}")
        return tuple(record[field] for field in fields)

    wait_until(lambda: stock("on_hand", "reserved") == (5, 0), "the sale of the three units")

    # Staff find it by the shopper's e-mail and see what was bought.
    page.goto(shop.admin("payments", f"payment/?q={shopper_email}"))
    row = page.wait_for_selector(f"#result_list tr:has-text('{payment['id']}')")
    assert shopper_email in row.inner_text() and "73.50" in row.inner_text()
    snap("payment-search")
    page.click(f"#result_list tr:has-text('{payment['id']}') a:has-text('{shopper_email}')")
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
    expect(page.locator(".field-refunded_by_email")).to_contain_text(shop.staff_email)
    snap("payment-refunded")

    refunded = shopper_api.expect("GET", f"/payments/{payment['id']}")
    assert refunded["status"] == "refunded"
    wait_until(lambda: stock("on_hand", "available") == (8, 8), "the refund's restock")

    # The ledger names the refund's actor.
    open_when_it_shows(page, shop.admin("inventory", f"ledgerentry/?q={sku}&kind__exact=refund"),
                       "#result_list", payment["id"])
    row = page.wait_for_selector(f"#result_list tr:has-text('{payment['id']}')")
    cells = {cell.inner_text().strip() for cell in row.query_selector_all("td")}
    assert {"Refund", "3", "Pruning shears", shop.staff_email} <= cells
    snap("ledger")

    # Deleting the sold product deactivates it: payments and inventory keep it.
    page.goto(shop.admin("products", f"product/{product_id}/change/"))
    expect(page.locator("#product-stock")).to_contain_text("8 available")
    snap("product-with-stock")
    page.click("a.deletelink")
    snap("deactivate-confirmation")
    page.click("input[type=submit][value='Yes, deactivate it']")
    assert "was deactivated" in page.wait_for_selector(".messagelist .success").inner_text()
    assert staff_api.expect("GET", f"/products/{product_id}")["status"] == "inactive"
    api.expect("GET", f"/products/{product_id}", 404)
    page.goto(shop.admin("payments", f"payment/{payment['id']}/change/"))
    expect(page.locator(".inline-group")).to_contain_text("Pruning shears")
    open_when_it_shows(page, shop.admin("inventory", f"stockrecord/?q={sku}"), "#result_list", "Inactive")
    snap("stock-after-deactivation")
