import uuid

import pytest
from django.utils import timezone

from apps.common.events.envelope import new_event
from apps.common.events.outbox import apply_event
from apps.inventory import interface, services
from apps.inventory.interface import StockLine
from apps.inventory.tests.stock import stock_of, stock_up
from apps.products.event_types import ProductChanged
from tests.support.problems import assert_problem

pytestmark = pytest.mark.django_db(databases=["inventory"])


def stock_url(product_id):
    return f"/api/v1/inventory/{product_id}"


def adjustments_url(product_id):
    return f"/api/v1/inventory/{product_id}/adjustments"


LOW_STOCK_URL = "/api/v1/inventory/low-stock"


# --- GET /inventory/{id} -----------------------------------------------------------------------

def test_anyone_sees_what_is_available(api_client, shopper_client):
    [product_id] = stock_up(8)
    interface.reserve("pay-1", [StockLine(product_id, 3)])
    assert api_client.get(stock_url(product_id)).json() == {"product_id": str(product_id), "available": 5}


def test_staff_also_see_on_hand_reserved_and_threshold(staff_client):
    [product_id] = stock_up(8)
    interface.reserve("pay-1", [StockLine(product_id, 3)])
    assert staff_client.get(stock_url(product_id)).json() == {
        "product_id": str(product_id), "available": 5, "on_hand": 8, "reserved": 3, "low_stock_threshold": 0,
    }


def test_an_unknown_product_answers_zeros(api_client, staff_client):
    product_id = uuid.uuid4()
    response = staff_client.get(stock_url(product_id))
    assert response.status_code == 200
    assert response.json() == {"product_id": str(product_id), "available": 0, "on_hand": 0, "reserved": 0,
                               "low_stock_threshold": 0}


def test_a_path_that_is_not_a_product_id_is_not_found(api_client):
    assert_problem(api_client.get("/api/v1/inventory/not-a-uuid"), 404, "not_found")


# --- PATCH /inventory/{id} ---------------------------------------------------------------------

def test_staff_set_the_low_stock_threshold(staff_client):
    [product_id] = stock_up(8)
    response = staff_client.patch(stock_url(product_id), {"low_stock_threshold": 10}, format="json")
    assert response.status_code == 200
    assert response.json()["low_stock_threshold"] == 10
    assert stock_of(product_id).low_stock_threshold == 10


def test_setting_a_threshold_for_an_unknown_product_creates_its_record(staff_client):
    product_id = uuid.uuid4()
    response = staff_client.patch(stock_url(product_id), {"low_stock_threshold": 2}, format="json")
    assert response.json() == {"product_id": str(product_id), "available": 0, "on_hand": 0, "reserved": 0,
                               "low_stock_threshold": 2}


@pytest.mark.parametrize("body", [{"low_stock_threshold": -1}, {"low_stock_threshold": "many"}, {},
                                  {"low_stock_threshold": 2**31}])
def test_a_threshold_must_be_a_whole_number_of_zero_or_more(staff_client, body):
    response = staff_client.patch(stock_url(uuid.uuid4()), body, format="json")
    assert "low_stock_threshold" in assert_problem(response, 400, "validation_error")["errors"]


# --- adjustments -----------------------------------------------------------------------------------

def test_staff_adjust_stock_and_the_ledger_records_who(staff_client, staff_id):
    [product_id] = stock_up(8)
    body = {"delta": -3, "reason": "damaged"}
    response = staff_client.post(adjustments_url(product_id), body, format="json")
    assert response.status_code == 201
    body = response.json()
    assert {key: body[key] for key in ("product_id", "delta", "reason", "on_hand_after")} == {
        "product_id": str(product_id), "delta": -3, "reason": "damaged", "on_hand_after": 5}
    assert {"id", "created_at"} <= body.keys()
    assert body["created_at"].endswith("Z")
    assert body["actor_id"] == str(staff_id)
    assert stock_of(product_id).on_hand == 5


def test_adjusting_an_unknown_product_creates_its_record(staff_client):
    product_id = uuid.uuid4()
    response = staff_client.post(adjustments_url(product_id), {"delta": 4, "reason": "found"}, format="json")
    assert response.status_code == 201
    assert stock_of(product_id).on_hand == 4


def test_an_adjustment_below_reserved_is_a_conflict(staff_client):
    [product_id] = stock_up(5)
    interface.reserve("pay-1", [StockLine(product_id, 3)])
    response = staff_client.post(adjustments_url(product_id), {"delta": -3, "reason": "x"}, format="json")
    body = assert_problem(response, 409, "insufficient_stock")
    assert (body["product_id"], body["available"]) == (str(product_id), 2)
    assert stock_of(product_id).on_hand == 5


def test_an_adjustment_below_zero_is_a_conflict(staff_client):
    response = staff_client.post(adjustments_url(uuid.uuid4()), {"delta": -1, "reason": "x"}, format="json")
    assert_problem(response, 409, "insufficient_stock")


@pytest.mark.parametrize(("body", "field"), [
    ({"delta": 0, "reason": "nothing"}, "delta"),
    ({"reason": "nothing"}, "delta"),
    ({"delta": "two", "reason": "x"}, "delta"),
    ({"delta": 2**31, "reason": "x"}, "delta"),
    ({"delta": 1}, "reason"),
    ({"delta": 1, "reason": ""}, "reason"),
])
def test_an_invalid_adjustment_is_a_validation_error(staff_client, body, field):
    response = staff_client.post(adjustments_url(uuid.uuid4()), body, format="json")
    assert field in assert_problem(response, 400, "validation_error")["errors"]


def test_the_ledger_lists_every_change_newest_first_with_sales_and_refunds(staff_client):
    [product_id] = stock_up(10)
    payment_id = str(uuid.uuid4())
    services.adjust_stock(product_id, 2, "found", actor_id=None)
    interface.reserve(payment_id, [StockLine(product_id, 3)])
    items = [{"product_id": str(product_id), "quantity": 3, "unit_price": "1.00"}]
    apply_event("inventory", new_event("payments.purchase_completed", "/payments", {
        "payment_id": payment_id, "user_id": str(uuid.uuid4()), "items": items, "amount": "3.00",
        "currency": "USD"}))
    apply_event("inventory", new_event("payments.refunded", "/payments", {
        "payment_id": payment_id, "items": items, "restock": True}))

    body = staff_client.get(adjustments_url(product_id)).json()
    assert body["count"] == 4
    assert [(row["kind"], row["delta"], row["on_hand_after"]) for row in body["results"]] == [
        ("refund", 3, 12), ("sale", -3, 9), ("adjustment", 2, 12), ("receipt", 10, 10)]
    page = staff_client.get(adjustments_url(product_id), {"page": 2, "page_size": 3}).json()
    assert ([row["kind"] for row in page["results"]], page["next"]) == (["receipt"], None)


# --- low stock -------------------------------------------------------------------------------------

def test_low_stock_lists_records_at_or_under_their_threshold(staff_client):
    low, plenty, reserved_away = stock_up([3, 50, 20])
    services.set_low_stock_threshold(low, 5)
    services.set_low_stock_threshold(plenty, 5)
    services.set_low_stock_threshold(reserved_away, 5)
    interface.reserve("pay-1", [StockLine(reserved_away, 16)])

    body = staff_client.get(LOW_STOCK_URL).json()
    assert body["count"] == 2
    assert [(row["product_id"], row["available"]) for row in body["results"]] == [
        (str(low), 3), (str(reserved_away), 4)]
    assert body["results"][0] == {"product_id": str(low), "available": 3, "on_hand": 3, "reserved": 0,
                                  "low_stock_threshold": 5, "sku": "", "name": ""}


def test_low_stock_lists_active_products_that_never_received_stock(staff_client):
    never_stocked, deactivated = uuid.uuid4(), uuid.uuid4()
    now = timezone.now()
    services.record_products([
        (ProductChanged(never_stocked, "NEW-1", "New rake", "active"), now),
        (ProductChanged(deactivated, "OLD-1", "Old rake", "inactive"), now),
    ])

    rows = staff_client.get(LOW_STOCK_URL).json()["results"]
    assert [(row["product_id"], row["sku"], row["name"], row["available"]) for row in rows] == [
        (str(never_stocked), "NEW-1", "New rake", 0)]


# --- who may do what ------------------------------------------------------------------------------

STAFF_ONLY = [
    ("patch", stock_url("{id}"), {"low_stock_threshold": 1}),
    ("post", adjustments_url("{id}"), {"delta": 1, "reason": "x"}),
    ("get", adjustments_url("{id}"), None),
    ("get", LOW_STOCK_URL, None),
]


@pytest.mark.parametrize(("method", "url", "body"), STAFF_ONLY)
def test_shoppers_are_forbidden_staff_endpoints(shopper_client, method, url, body):
    response = getattr(shopper_client, method)(url.format(id=uuid.uuid4()), body, format="json")
    assert_problem(response, 403, "permission_denied")


@pytest.mark.parametrize(("method", "url", "body"), STAFF_ONLY)
def test_anonymous_callers_must_authenticate_for_staff_endpoints(api_client, method, url, body):
    response = getattr(api_client, method)(url.format(id=uuid.uuid4()), body, format="json")
    assert_problem(response, 401, "not_authenticated")


def test_the_schema_documents_the_inventory_endpoints(api_client):
    schema = api_client.get("/api/schema/", {"format": "json"}).json()
    paths = schema["paths"]
    assert {"/api/v1/inventory/{product_id}", "/api/v1/inventory/{product_id}/adjustments",
            "/api/v1/inventory/low-stock"} <= paths.keys()
    assert "409" in paths["/api/v1/inventory/{product_id}/adjustments"]["post"]["responses"]
    listed = paths["/api/v1/inventory/low-stock"]["get"]["responses"]["200"]["content"]["application/json"]
    page = schema["components"]["schemas"][listed["schema"]["$ref"].rsplit("/", 1)[1]]
    assert {"count", "next", "previous", "results"} <= page["properties"].keys()
