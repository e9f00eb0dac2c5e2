"""The typed event contract: every payload payments and inventory emit round-trips through its
declared type, and every handler handles a declared type."""

from importlib import import_module

import pytest

from apps.common.events.envelope import EventData, InvalidEvent, declared_types, handlers_for
from apps.common.events.outbox import outbox_model
from apps.payments.event_types import PaymentRefunded, PurchaseCompleted
from config.service_apps import DOMAIN_APPS
from tests.support.purchases import PURCHASE_DATABASES, purchase


def _undeclared(app: str) -> list[str]:
    """The event classes `app`'s HANDLERS name that their publisher does not declare."""
    return [
        f"{app} handles {event_class.__module__}.{event_class.__name__}"
        for event_type, (event_class, _) in handlers_for(app).items()
        if declared_types(event_type.split(".", 1)[0]).get(event_type) is not event_class
    ]


@pytest.mark.parametrize("app", DOMAIN_APPS)
def test_every_handler_handles_a_declared_event_type(app):
    assert _undeclared(app) == []
    assert all(issubclass(event_class, EventData) for event_class, _ in handlers_for(app).values())


def test_a_handler_of_an_undeclared_type_fails_the_check(monkeypatch):
    events = import_module("apps.inventory.handlers")

    class Undeclared(PurchaseCompleted):  # looks like a payments event, declared nowhere
        TYPE = "payments.undeclared"

    monkeypatch.setattr(events, "HANDLERS", {**events.HANDLERS, Undeclared: lambda batch: None})
    assert _undeclared("inventory") == [f"inventory handles {__name__}.Undeclared"]


@pytest.mark.django_db(databases=PURCHASE_DATABASES)
def test_every_emitted_payload_round_trips_through_its_declared_type(shopper_client, staff_client,
                                                                     stocked_product):
    pen = stocked_product("19.99", stock=10, name="Fountain pen")
    paid = purchase(shopper_client, [(pen, 2)])
    assert paid.status_code == 201, paid.json()
    refund = staff_client.post(f"/api/v1/payments/{paid.json()['id']}/refund", {"restock": True},
                               format="json")
    assert refund.status_code == 200, refund.json()

    rows = [*outbox_model("payments").objects.all(), *outbox_model("inventory").objects.all()]
    expected = {PurchaseCompleted.TYPE, PaymentRefunded.TYPE, "inventory.stock_changed"}
    assert {row.type for row in rows} == expected
    for row in rows:
        event_class = declared_types(row.type.split(".", 1)[0])[row.type]
        typed = event_class.from_data(row.payload["data"])
        assert typed.to_data() == row.payload["data"]
        assert event_class.from_data(typed.to_data()) == typed
    # Each payments event names its lines as the payment recorded them, for the receipts.
    [sku] = [item["sku"] for item in paid.json()["items"]]
    for row in outbox_model("payments").objects.all():
        assert [(item.name, item.sku) for item in declared_types("payments")[row.type].from_data(
            row.payload["data"]).items] == [("Fountain pen", sku)], row.type


def test_an_item_published_before_the_snapshots_still_parses():
    data = {"payment_id": "0b5c1b8e-8d8a-4c63-9df4-8f5f0e1d7a10",
            "user_id": "0b5c1b8e-8d8a-4c63-9df4-8f5f0e1d7a12", "amount": "2", "currency": "USD",
            "items": [{"product_id": "0b5c1b8e-8d8a-4c63-9df4-8f5f0e1d7a11", "quantity": 2,
                       "unit_price": "1"}]}
    [item] = PurchaseCompleted.from_data(data).items
    assert (item.name, item.sku, item.quantity) == ("", "", 2)
    assert PurchaseCompleted.from_data(data).to_data() == data  # no empty snapshot keys added


@pytest.mark.parametrize("data", [
    None, [], {}, {"payment_id": "not-a-uuid", "items": [], "restock": True},
    {"payment_id": "0b5c1b8e-8d8a-4c63-9df4-8f5f0e1d7a10", "restock": "yes",
     "items": [{"product_id": "0b5c1b8e-8d8a-4c63-9df4-8f5f0e1d7a11", "quantity": 1, "unit_price": "1"}]},
    {"payment_id": "0b5c1b8e-8d8a-4c63-9df4-8f5f0e1d7a10", "restock": True,
     "items": [{"product_id": "0b5c1b8e-8d8a-4c63-9df4-8f5f0e1d7a11", "quantity": 0, "unit_price": "1"}]},
])
def test_from_data_refuses_what_does_not_fit(data):
    with pytest.raises(InvalidEvent):
        PaymentRefunded.from_data(data)
