"""The typed event contract: every payload payments and inventory emit round-trips through its
declared type, and every handler handles a declared type."""

from importlib import import_module

import pytest

from apps.common.events import EventData, InvalidEvent, declared_types, handlers_for
from apps.common.outbox import outbox_model
from apps.payments.event_types import PurchaseCompleted, Refunded
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
    events = import_module("apps.inventory.events")

    class Undeclared(PurchaseCompleted):  # looks like a payments event, declared nowhere
        TYPE = "payments.undeclared"

    monkeypatch.setattr(events, "HANDLERS", {**events.HANDLERS, Undeclared: lambda batch: None})
    assert _undeclared("inventory") == [f"inventory handles {__name__}.Undeclared"]


@pytest.mark.django_db(databases=PURCHASE_DATABASES)
def test_every_emitted_payload_round_trips_through_its_declared_type(shopper_client, staff_client,
                                                                     stocked_product):
    pen = stocked_product("19.99", stock=10)
    paid = purchase(shopper_client, [(pen, 2)])
    assert paid.status_code == 201, paid.json()
    refund = staff_client.post(f"/api/v1/payments/{paid.json()['id']}/refund", {"restock": True},
                               format="json")
    assert refund.status_code == 200, refund.json()

    rows = [*outbox_model("payments").objects.all(), *outbox_model("inventory").objects.all()]
    assert {row.type for row in rows} == {PurchaseCompleted.TYPE, Refunded.TYPE, "inventory.stock_changed"}
    for row in rows:
        event_class = declared_types(row.type.split(".", 1)[0])[row.type]
        typed = event_class.from_data(row.payload["data"])
        assert typed.to_data() == row.payload["data"]
        assert event_class.from_data(typed.to_data()) == typed


@pytest.mark.parametrize("data", [
    None, [], {}, {"payment_id": "not-a-uuid", "items": [], "restock": True},
    {"payment_id": "0b5c1b8e-8d8a-4c63-9df4-8f5f0e1d7a10", "restock": "yes",
     "items": [{"product_id": "0b5c1b8e-8d8a-4c63-9df4-8f5f0e1d7a11", "quantity": 1, "unit_price": "1"}]},
    {"payment_id": "0b5c1b8e-8d8a-4c63-9df4-8f5f0e1d7a10", "restock": True,
     "items": [{"product_id": "0b5c1b8e-8d8a-4c63-9df4-8f5f0e1d7a11", "quantity": 0, "unit_price": "1"}]},
])
def test_from_data_refuses_what_does_not_fit(data):
    with pytest.raises(InvalidEvent):
        Refunded.from_data(data)
