"""The `in_stock` read model follows `inventory.stock_changed`, once per event."""

import threading
import uuid
from datetime import UTC, datetime, timedelta

import pytest
from django.db import connections

from apps.common.events.envelope import CloudEvent, InvalidEvent, new_event
from apps.common.events.outbox import apply_event
from apps.products import services
from apps.products.models import ProcessedEvent, Product, StockState


def stock_changed(product_id, available, *, at=None) -> CloudEvent:
    extra = {"time": at} if at else {}
    return new_event("inventory.stock_changed", "/inventory", **extra, data={
        "product_id": str(product_id), "on_hand": available + 2, "reserved": 2, "available": available})


def _in_stock(product) -> bool:
    product.refresh_from_db()
    return product.in_stock


@pytest.mark.django_db(databases=["products"])
class TestStockChanged:
    def test_sets_in_stock_from_available(self, make_product):
        product = make_product()
        assert apply_event("products", stock_changed(product.id, 3)) is True
        assert _in_stock(product) is True
        assert apply_event("products", stock_changed(product.id, 0)) is True
        assert _in_stock(product) is False

    def test_a_redelivered_event_is_applied_once(self, make_product):
        product = make_product()
        event = stock_changed(product.id, 5)
        assert apply_event("products", event) is True
        services.record_stock(product.id, 0, datetime.now(UTC))  # a later change
        assert apply_event("products", event) is False  # the old event does not undo it
        assert _in_stock(product) is False
        assert ProcessedEvent.objects.filter(event_id=event.get_id()).count() == 1

    def test_an_older_event_arriving_late_is_ignored(self, make_product):
        product = make_product()
        now = datetime.now(UTC)
        apply_event("products", stock_changed(product.id, 0, at=now))
        assert apply_event("products", stock_changed(product.id, 9, at=now - timedelta(seconds=1))) is True
        assert _in_stock(product) is False
        assert StockState.objects.get(product_id=product.id).available == 0

    def test_a_product_created_after_its_stock_event_starts_with_it(self):
        product_id = uuid.uuid4()
        assert apply_event("products", stock_changed(product_id, 4)) is True
        assert not Product.objects.exists()
        product = services.create_product(id=product_id, sku="LATE-1", name="Late", price="1.00")
        assert _in_stock(product) is True
        assert services.create_product(sku="NEW-1", name="New", price="1.00").in_stock is False

    @pytest.mark.parametrize("data", [{}, {"product_id": "nope", "available": 1},
                                      {"product_id": str(uuid.uuid4()), "available": "many"}])
    def test_malformed_data_is_a_poison_message(self, data):
        event = new_event("inventory.stock_changed", "/inventory", data)
        with pytest.raises(InvalidEvent):
            apply_event("products", event)
        assert not ProcessedEvent.objects.exists()  # rolled back: a fixed redelivery can apply


@pytest.mark.django_db(databases=["products"], transaction=True)
def test_concurrent_duplicate_deliveries_apply_once(make_product):
    product = make_product()
    event = stock_changed(product.id, 7)
    start = threading.Barrier(8)
    results = []

    def deliver():
        start.wait()
        try:
            results.append(apply_event("products", event))
        finally:
            connections.close_all()

    threads = [threading.Thread(target=deliver) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(results) == [False] * 7 + [True]
    assert _in_stock(product) is True
    assert ProcessedEvent.objects.filter(event_id=event.get_id()).count() == 1


@pytest.mark.django_db(databases=["products"], transaction=True)
def test_concurrent_first_events_for_one_product_keep_the_newest(make_product):
    product = make_product()
    base = datetime.now(UTC)
    events = [stock_changed(product.id, i % 2, at=base + timedelta(milliseconds=i)) for i in range(8)]
    start = threading.Barrier(len(events))

    def deliver(event):
        start.wait()
        try:
            apply_event("products", event)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=deliver, args=(event,)) for event in events]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    state = StockState.objects.get(product_id=product.id)
    assert state.as_of == base + timedelta(milliseconds=7) and state.available == 1
    assert _in_stock(product) is True
    assert ProcessedEvent.objects.count() == len(events)
