import uuid

import pytest
from django.db import connections
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from apps.inventory import interface, services
from apps.inventory.interface import StockLine
from apps.inventory.models import LedgerEntry, StockRecord
from apps.inventory.tests.stock import stock_of, stock_up
from apps.products.event_types import ProductChanged

pytestmark = pytest.mark.django_db(databases=["users", "inventory"])
CHANGELIST = "/admin/inventory/stockrecord/"


def changelist_queries(browser, **params):
    with CaptureQueriesContext(connections["inventory"]) as queries:
        response = browser.get(CHANGELIST, params)
    assert response.status_code == 200
    return response, len(queries)


def test_the_stock_list_shows_available_and_filters_low_stock(admin_client):
    low, plenty = stock_up([2, 40])
    services.set_low_stock_threshold(low, 5)
    interface.reserve("pay-1", [StockLine(plenty, 15)])

    response, _ = changelist_queries(admin_client)
    rows = response.context["cl"].result_list
    assert {(row.product_id, row.on_hand, row.reserved, row.available_units) for row in rows} == {
        (low, 2, 0, 2), (plenty, 40, 15, 25)}

    response, _ = changelist_queries(admin_client, low_stock="yes")
    assert [row.product_id for row in response.context["cl"].result_list] == [low]
    response, _ = changelist_queries(admin_client, low_stock="no")
    assert [row.product_id for row in response.context["cl"].result_list] == [plenty]


def test_the_stock_list_takes_the_same_queries_for_many_rows(admin_client):
    stock_up([1, 2])
    _, few = changelist_queries(admin_client)
    stock_up(range(1, 40))
    _, many = changelist_queries(admin_client)
    assert many == few


def test_a_stock_page_shows_its_ledger_read_only(admin_client):
    [product_id] = stock_up(9)
    services.adjust_stock(product_id, -1, "dropped it", actor_id=None)
    response = admin_client.get(f"{CHANGELIST}{product_id}/change/")
    assert response.status_code == 200
    assert b"dropped it" in response.content
    assert b'name="adjustments-0-delta"' not in response.content  # shown, not editable
    assert b'name="_save"' not in response.content


def test_the_adjust_action_asks_for_delta_and_reason_then_writes_the_ledger(admin_client, admin_user):
    first, second = stock_up([5, 1])
    selected = {"action": "adjust_stock", "_selected_action": [str(first), str(second)]}

    form_page = admin_client.post(CHANGELIST, selected)
    assert form_page.status_code == 200
    assert b'name="delta"' in form_page.content and b'name="reason"' in form_page.content

    done = admin_client.post(CHANGELIST, {**selected, "apply": "1", "delta": "-2", "reason": "stocktake"},
                              follow=True)
    assert done.status_code == 200
    messages = [str(message) for message in done.context["messages"]]
    assert "Adjust stock: 1 product(s) changed." in messages
    assert any(str(second) in message and "Cannot remove" in message for message in messages)
    assert (stock_of(first).on_hand, stock_of(second).on_hand) == (3, 1)
    entry = LedgerEntry.objects.using("inventory").get(stock_id=first, kind="adjustment")
    assert (entry.delta, entry.reason, entry.actor_id) == (-2, "stocktake", admin_user.pk)


def test_the_adjust_action_refuses_a_zero_delta(admin_client):
    [product_id] = stock_up(5)
    response = admin_client.post(CHANGELIST, {
        "action": "adjust_stock", "_selected_action": [str(product_id)], "apply": "1", "delta": "0",
        "reason": "nothing"})
    assert response.status_code == 200
    assert b"delta cannot be 0" in response.content
    assert stock_of(product_id).on_hand == 5


@pytest.mark.django_db(databases=["users", "inventory", "products"])
def test_staff_stock_a_product_inventory_has_not_seen(admin_client, admin_user, staff_client):
    product = staff_client.post("/api/v1/products", {"sku": "RAKE-1", "name": "Rake", "price": "9.00"},
                                format="json").json()
    product_id = uuid.UUID(product["id"])
    response = admin_client.post(f"{CHANGELIST}add/", {
        "product_id": str(product_id), "on_hand": "12", "reason": "first delivery"})
    assert response.status_code == 302, response.context["adminform"].form.errors
    record = stock_of(product_id)
    assert (record.on_hand, record.reserved, record.sku, record.name) == (12, 0, "RAKE-1", "Rake")
    entry = LedgerEntry.objects.using("inventory").get(stock_id=product_id)
    assert (entry.kind, entry.delta, entry.reason, entry.actor_id, entry.actor_email) == (
        "adjustment", 12, "first delivery", admin_user.pk, admin_user.email)

    again = admin_client.post(f"{CHANGELIST}add/", {
        "product_id": str(product_id), "on_hand": "5", "reason": "twice"})
    assert again.status_code == 200 and "already exists" in str(again.context["adminform"].form.errors)
    assert stock_of(product_id).on_hand == 12


@pytest.mark.django_db(databases=["users", "inventory", "products"])
def test_no_stock_record_for_a_product_the_catalogue_does_not_know(admin_client):
    response = admin_client.post(f"{CHANGELIST}add/", {
        "product_id": str(uuid.uuid4()), "on_hand": "12", "reason": "typo"})
    assert response.status_code == 200
    assert "no product with this id" in str(response.context["adminform"].form.errors)
    assert not StockRecord.objects.using("inventory").exists()


def test_stock_and_ledger_are_listed_and_searched_by_sku_and_name(admin_client, admin_user):
    rake, hoe = uuid.uuid4(), uuid.uuid4()
    services.record_products([(ProductChanged(rake, "RAKE-1", "Leaf rake", "active"), timezone.now()),
                              (ProductChanged(hoe, "HOE-1", "Dutch hoe", "active"), timezone.now())])
    services.adjust_stock(rake, 4, "delivery", actor_id=admin_user.pk, actor_email=admin_user.email)

    for term in ["RAKE-1", "leaf"]:
        rows = admin_client.get(CHANGELIST, {"q": term}).context["cl"].result_list
        assert [row.product_id for row in rows] == [rake], term
    low = admin_client.get(CHANGELIST, {"low_stock": "yes"}).context["cl"].result_list
    assert [row.product_id for row in low] == [hoe]  # never stocked, so low
    ledger = admin_client.get("/admin/inventory/ledgerentry/", {"q": "rake"})
    assert [entry.stock_id for entry in ledger.context["cl"].result_list] == [rake]
    assert "Leaf rake" in ledger.text and admin_user.email in ledger.text


def test_the_threshold_action_sets_thresholds(admin_client):
    [product_id] = stock_up(5)
    admin_client.post(CHANGELIST, {
        "action": "set_low_stock_threshold", "_selected_action": [str(product_id)], "apply": "1",
        "low_stock_threshold": "7"})
    assert stock_of(product_id).low_stock_threshold == 7


def test_reservations_are_listed_read_only_by_status(admin_client):
    [product_id] = stock_up(5)
    interface.reserve("pay-active", [StockLine(product_id, 1)])
    interface.reserve("pay-released", [StockLine(product_id, 1)])
    interface.release("pay-released")
    response = admin_client.get("/admin/inventory/reservation/", {"status__exact": "released"})
    assert [row.reference for row in response.context["cl"].result_list] == ["pay-released"]
    assert admin_client.get("/admin/inventory/reservation/add/").status_code == 403


def test_non_staff_cannot_open_the_inventory_admin(django_user_model):
    shopper = django_user_model.objects.db_manager("users").create_user(email=f"{uuid.uuid4()}@x.io",
                                                                        password="x")
    browser = Client()
    browser.force_login(shopper)
    assert browser.get(CHANGELIST).status_code == 302  # to the admin login
