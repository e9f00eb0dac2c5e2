"""Inventory's product read model follows `products.product_changed`: every new product gets a
zero-stock record (so it is low on stock), names stay current, older events are ignored."""

import uuid
from datetime import UTC, datetime, timedelta

import pytest
from django.db import connections
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from apps.common.events.envelope import CloudEvent, InvalidEvent, new_event
from apps.common.events.outbox import apply_event
from apps.inventory import selectors, services
from apps.inventory.models import StockRecord
from apps.products.event_types import ProductChanged


def product_changed(product_id, *, name="Pruning shears", status="active", at=None) -> CloudEvent:
    extra = {"time": at.isoformat()} if at else {}
    data = ProductChanged(product_id=product_id, sku=f"SKU-{str(product_id)[:8]}", name=name,
                          status=status).to_data()
    return new_event(ProductChanged.TYPE, "/products", data, subject=str(product_id), **extra)


@pytest.mark.django_db(databases=["inventory"])
class TestProductChanged:
    def test_a_new_product_gets_a_zero_stock_record_that_is_low_on_stock(self):
        product_id = uuid.uuid4()
        assert apply_event("inventory", product_changed(product_id)) is True
        record = StockRecord.objects.get(product_id=product_id)
        assert (record.sku, record.name, record.product_status) == (
            f"SKU-{str(product_id)[:8]}", "Pruning shears", "active")
        assert (record.on_hand, record.reserved) == (0, 0)
        assert product_id in set(selectors.low_stock().values_list("product_id", flat=True))

    def test_a_redelivered_event_is_applied_once(self):
        product_id = uuid.uuid4()
        event = product_changed(product_id)
        assert apply_event("inventory", event) is True
        assert apply_event("inventory", event) is False
        assert StockRecord.objects.filter(product_id=product_id).count() == 1

    def test_an_older_change_arriving_late_is_ignored(self):
        product_id, now = uuid.uuid4(), datetime.now(UTC)
        apply_event("inventory", product_changed(product_id, name="New name", at=now))
        apply_event("inventory", product_changed(product_id, name="Old name", at=now - timedelta(seconds=1)))
        assert StockRecord.objects.get(product_id=product_id).name == "New name"

    def test_a_batch_keeps_the_newest_change_of_each_product(self):
        product_id, now = uuid.uuid4(), datetime.now(UTC)
        first = ProductChanged(product_id, "A-1", "First", "active")
        last = ProductChanged(product_id, "A-1", "Last", "inactive")
        services.record_products([(last, now), (first, now - timedelta(seconds=5))])
        services.record_products([(first, now - timedelta(seconds=5))])  # the batch again, part of it
        record = StockRecord.objects.get(product_id=product_id)
        assert (record.name, record.product_status) == ("Last", "inactive")

    def test_a_stocked_product_keeps_its_units_and_a_deactivated_one_leaves_low_stock(self):
        product_id = uuid.uuid4()
        services.adjust_stock(product_id, 5, "found in the back", actor_id=None)
        apply_event("inventory", product_changed(product_id))
        apply_event("inventory", product_changed(product_id, status="inactive"))
        record = StockRecord.objects.get(product_id=product_id)
        assert (record.on_hand, record.product_status) == (5, "inactive")
        services.adjust_stock(product_id, -5, "written off", actor_id=None)
        assert product_id not in set(selectors.low_stock().values_list("product_id", flat=True))

    def test_a_batch_costs_the_same_statements_whatever_its_size(self):
        def statements(count):
            now = timezone.now()
            changes = [(ProductChanged(uuid.uuid4(), f"B-{uuid.uuid4().hex[:8]}", "Bulk", "active"), now)
                       for _ in range(count)]
            with CaptureQueriesContext(connections["inventory"]) as queries:
                services.record_products(changes)
            return len(queries)

        assert statements(2) == statements(50)

    @pytest.mark.parametrize("data", [
        {}, {"product_id": "nope", "sku": "A", "name": "B", "status": "active"},
        {"product_id": str(uuid.uuid4()), "sku": "A", "name": "B", "status": "gone"},
        {"product_id": str(uuid.uuid4()), "sku": 7, "name": "B", "status": "active"},
    ])
    def test_bad_data_is_an_invalid_event(self, data):
        with pytest.raises(InvalidEvent):
            ProductChanged.from_data(data)

