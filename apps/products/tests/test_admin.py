"""The catalogue admin: list, search and filters without N+1, the category tree, and writes
that reach the cached public catalogue."""

from decimal import Decimal

import pytest
from django.contrib import admin
from django.db import connections, transaction
from django.test import RequestFactory
from django.test.utils import CaptureQueriesContext

from apps.inventory import interface as inventory
from apps.products.models import OutboxEvent, Product

pytestmark = pytest.mark.django_db(databases=["users", "products"])


def _changelist_queries(browser, query=""):
    with CaptureQueriesContext(connections["products"]) as queries:
        response = browser.get(f"/admin/products/product/{query}")
    assert response.status_code == 200
    return response, len(queries)


def test_product_list_costs_the_same_queries_for_5_or_40_products(admin_client, make_product, make_category):
    category = make_category("Tea")
    for _ in range(5):
        make_product(category=category)
    _, few = _changelist_queries(admin_client)
    for _ in range(35):
        make_product(category=category)
    response, many = _changelist_queries(admin_client)
    assert many == few
    assert b'name="form-0-price"' in response.content  # price is editable in the list


def test_product_list_searches_name_and_sku_and_filters_status_and_category(
        admin_client, make_product, make_category):
    tea = make_category("Tea")
    make_product(sku="TEA-GREEN", name="Sencha", category=tea)
    make_product(sku="MUG-1", name="Green mug", status=Product.Status.INACTIVE)
    response, _ = _changelist_queries(admin_client, "?q=TEA-GREEN")
    assert b"Sencha" in response.content and b"Green mug" not in response.content
    response, _ = _changelist_queries(admin_client, "?q=green")
    assert b"Sencha" in response.content and b"Green mug" in response.content
    response, _ = _changelist_queries(admin_client, "?status__exact=inactive")
    assert b"Green mug" in response.content and b"Sencha" not in response.content
    response, _ = _changelist_queries(admin_client, f"?category__id__exact={tea.id}")
    assert b"Sencha" in response.content and b"Green mug" not in response.content


def test_category_list_shows_the_tree(admin_client, make_category):
    home = make_category("Home")
    kitchen = make_category("Kitchen", parent=home)
    make_category("Knives", parent=kitchen)
    make_category("Garden")
    response = admin_client.get("/admin/products/category/")
    html = response.content.decode()
    positions = [html.index(f">{name}</span>") for name in ("Garden", "Home", "Kitchen", "Knives")]
    assert positions == sorted(positions)  # depth-first
    assert '<span style="padding-left: 3.0em">Knives</span>' in html
    add_form = admin_client.get("/admin/products/category/add/").content.decode()
    assert "prepopulated" in add_form


@pytest.mark.django_db(databases=["users", "products"], transaction=True)
def test_an_admin_price_edit_reaches_the_cached_public_catalogue(api_client, make_product):
    product = make_product(price=Decimal("10.00"))
    assert api_client.get(f"/api/v1/products/{product.id}").json()["price"] == "10.00"
    product_admin = admin.site._registry[Product]
    product.price = Decimal("12.00")
    with transaction.atomic(using="products"):  # as the admin's changelist saves
        product_admin.save_model(RequestFactory().post("/admin/"), product, form=None, change=True)
    assert api_client.get(f"/api/v1/products/{product.id}").json()["price"] == "12.00"


def test_deleting_a_product_deactivates_it(admin_client, make_product):
    product = make_product(sku="SOLD-1")
    confirmation = admin_client.get(f"/admin/products/product/{product.id}/delete/")
    assert b"Deactivate the product" in confirmation.content
    response = admin_client.post(f"/admin/products/product/{product.id}/delete/", {"post": "yes"},
                                  follow=True)
    assert b"was deactivated" in response.content
    product.refresh_from_db()  # still there
    assert product.status == Product.Status.INACTIVE

    other = make_product()
    actions = admin_client.get("/admin/products/product/").context["action_form"].fields["action"].choices
    assert "delete_selected" not in dict(actions)
    admin_client.post("/admin/products/product/", {"action": "deactivate_selected",
                                                    "_selected_action": [str(other.id)]})
    other.refresh_from_db()
    assert other.status == Product.Status.INACTIVE
    last_event = OutboxEvent.objects.filter(key=str(other.id)).latest("created_at")
    assert last_event.payload["data"]["status"] == "inactive"


@pytest.mark.django_db(databases=["users", "products", "inventory"])
def test_an_admin_edit_emits_the_product_event_and_the_page_shows_its_stock(admin_client, make_product):
    product = make_product(sku="EDIT-1", name="Old name")
    inventory.receive_stock(f"receipt-{product.id}", [inventory.StockLine(product.id, 7)], reason="delivery")
    page = admin_client.get(f"/admin/products/product/{product.id}/change/")
    assert b"7 available (7 on hand, 0 reserved)" in page.content
    assert f"/admin/inventory/stockrecord/{product.id}/change/".encode() in page.content

    form = page.context["adminform"].form
    data = {**{name: form[name].value() for name in ("sku", "description", "price", "currency", "status")},
            "name": "New name", "image_urls": "[]", "category": ""}
    response = admin_client.post(f"/admin/products/product/{product.id}/change/", data)
    assert response.status_code == 302, response.context["adminform"].form.errors
    event = OutboxEvent.objects.filter(key=str(product.id)).latest("created_at")
    assert (event.type, event.payload["data"]) == ("products.product_changed", {
        "product_id": str(product.id), "sku": "EDIT-1", "name": "New name", "status": "active"})
