"""The admin reads as the shop's back office: its name, the business first, the plumbing under
"Operations", read-only; a page whose database is down says so (503), not a 500."""

import re
import time

import pytest
from django.contrib import admin

import config.urls  # noqa: F401  (registers the admin of every app this process serves)
from apps.inventory import interface as inventory
from tests.support.processes import database_env, start_http_server
from tests.support.proxy import TcpProxy
from tests.support.purchases import create_stocked_product
from tests.support.users import StaffFactory
from tests.test_split_admin import sign_in


@pytest.mark.django_db(databases="__all__")
def test_the_index_names_the_shop_and_groups_the_plumbing_under_operations(client, settings):
    settings.SHOP_NAME = "Garden Supplies"
    client.force_login(StaffFactory(is_superuser=True))
    response = client.get("/admin/")
    html = response.content.decode()

    assert "<title>Back office | Garden Supplies</title>" in html
    assert 'href="/api/docs/"' in html  # "View site"
    sections = [app["name"] for app in response.context["app_list"]]
    assert sections == ["Products", "Inventory", "Payments", "Users", "Operations"]
    [operations] = [app for app in response.context["app_list"] if app["name"] == "Operations"]
    assert sorted(model["name"] for model in operations["models"]) == [
        "Dead letters", "Inventory: Outbox events", "Inventory: Processed events",
        "Payments: Idempotency keys", "Payments: Outbox events", "Products: Outbox events",
        "Products: Processed events",
    ]
    assert all(model["view_only"] for model in operations["models"])
    assert "Shared kernel" not in html


@pytest.mark.django_db(databases="__all__")
def test_nothing_with_history_can_be_hard_deleted(rf):
    request = rf.get("/admin/")
    request.user = StaffFactory(is_superuser=True)
    undeletable = {"users.User", "payments.Payment", "inventory.StockRecord", "inventory.LedgerEntry"}
    for model, model_admin in admin.site._registry.items():
        if model._meta.label in undeletable:
            assert not model_admin.has_delete_permission(request), model._meta.label


@pytest.mark.django_db(databases="__all__", transaction=True)
def test_an_admin_page_whose_database_is_cut_answers_503_and_changes_nothing(settings, staff_client):
    """Inventory's database goes through a proxy the test cuts, behind a real gunicorn: its admin
    pages answer the 503 page the API's problem body answers (they were 500s), an add writes
    nothing, and the pages come back with the database."""
    staff = StaffFactory(is_superuser=True)
    product_id = create_stocked_product(staff_client, "3.00", stock=0, name="Cut rake")
    database = settings.DATABASES["inventory"]
    proxy = TcpProxy(database["HOST"], int(database["PORT"] or 5432)).start()
    env = database_env()
    env["DATABASE_URL_INVENTORY"] = env["DATABASE_URL_INVENTORY"].replace(
        f"@{database['HOST']}:{database['PORT']}/", f"@127.0.0.1:{proxy.port}/")
    server = start_http_server("admin-inventory-database-cut", {**env, "DATABASE_CONNECT_TIMEOUT": "1",
                                                                "SHOP_NAME": "Garden Supplies"})
    stock_list = f"{server.url}/admin/inventory/stockrecord/"
    try:
        session = sign_in(server.url, staff.email)
        assert session.get(stock_list, timeout=10).status_code == 200
        add_form = session.get(f"{stock_list}add/", timeout=10).text
        token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', add_form).group(1)

        proxy.cut()
        page = session.get(stock_list, timeout=10)
        assert page.status_code == 503, page.text[-2000:]  # was 500
        assert page.headers["Content-Type"].startswith("text/html")
        assert page.headers["Retry-After"] == "5"
        assert "Garden Supplies" in page.text and "Service unavailable" in page.text
        assert "did not answer (OperationalError). Nothing was changed." in page.text
        assert database["HOST"] not in page.text.replace("Garden Supplies", "")  # no connection details
        added = session.post(f"{stock_list}add/", timeout=10, allow_redirects=False, data={
            "csrfmiddlewaretoken": token, "product_id": str(product_id), "on_hand": "5",
            "reason": "delivery"})
        assert added.status_code == 503, added.text[-2000:]
        # Products' own pages still answer; the product page says its stock cannot be read.
        product_page = session.get(f"{server.url}/admin/products/product/{product_id}/change/", timeout=10)
        assert product_page.status_code == 200
        assert "Inventory cannot be reached right now." in product_page.text

        proxy.restore()
        deadline = time.monotonic() + 20
        while (page := session.get(stock_list, timeout=10)).status_code == 503:
            assert time.monotonic() < deadline, page.text
            time.sleep(0.2)
        assert page.status_code == 200
        assert inventory.get_availability([product_id])[product_id].on_hand == 0  # the add wrote nothing
    finally:
        server.stop()
        proxy.cut()
