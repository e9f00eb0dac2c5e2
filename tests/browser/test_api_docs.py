"""Swagger UI and ReDoc render every operation with the network cut off: they come from the
application's own static files (drf-spectacular-sidecar), not from a CDN."""

import pytest
import requests
from playwright.sync_api import expect

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def operations(shop_server) -> int:
    """How many operations the served OpenAPI document holds."""
    schema = requests.get(f"{shop_server.url}/api/schema/", timeout=10,
                          headers={"Accept": "application/vnd.oai.openapi+json"}).json()
    count = sum(len(methods) for methods in schema["paths"].values())
    assert count >= 29
    return count


@pytest.fixture
def offline_page(page, shop_server):
    """`page` with every request to anything but the server under test aborted (and recorded)."""
    blocked = []

    def only_local(route):
        if route.request.url.startswith(shop_server.url):
            route.continue_()
        else:
            blocked.append((route.request.resource_type, route.request.url))
            route.abort("internetdisconnected")

    page.context.route("**/*", only_local)
    page.blocked = blocked
    return page


def test_swagger_ui_lists_the_operations_offline(offline_page, operations, shop_server):
    offline_page.goto(f"{shop_server.url}/api/docs/")
    expect(offline_page.locator(".opblock")).to_have_count(operations)
    expect(offline_page.locator(".opblock-summary-path", has_text="/api/v1/payments/{payment_id}/refund")) \
        .to_be_visible()
    expect(offline_page.locator(".opblock-summary-description",
                                has_text="Purchase: price, reserve stock, charge")).to_be_visible()
    assert offline_page.blocked == []


def test_redoc_lists_the_operations_offline(offline_page, operations, shop_server):
    offline_page.goto(f"{shop_server.url}/api/redoc/")
    expect(offline_page.locator("[data-section-id^='operation/']")).to_have_count(operations)
    expect(offline_page.get_by_role("heading", name="Purchase: price, reserve stock, charge")).to_be_visible()
    # ReDoc's sidebar tries Redocly's logo from their CDN and leaves it out when that fails.
    assert [url for kind, url in offline_page.blocked if kind != "image"] == []
