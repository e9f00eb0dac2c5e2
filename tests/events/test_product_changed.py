"""`products.product_changed` from the products outbox to inventory's product read model, in the
embedded mode (in-process dispatch after commit) and through Kafka."""

import uuid
from io import StringIO

import pytest
from django.core.management import call_command

from apps.common.relay import relay_outbox
from apps.inventory import selectors
from apps.inventory.models import StockRecord
from apps.products import services as product_services
from apps.products.event_types import ProductChanged
from apps.products.models import OutboxEvent, Product
from tests.support.consumers import running_consumer
from tests.support.kafka import caught_up
from tests.support.polling import wait_until


@pytest.mark.django_db(databases=["products", "inventory"], transaction=True)
def test_products_emits_on_create_update_and_deactivate_and_inventory_follows_in_process():
    """The embedded mode: the outbox is relayed after commit to inventory's handler."""
    product = product_services.create_product(sku="EMB-1", name="Trowel", price="5.00")
    product_services.update_product(product.id, name="Hand trowel")
    product_services.deactivate_product(product.id)

    events = list(OutboxEvent.objects.order_by("created_at"))
    assert [(event.type, event.payload["data"]) for event in events] == [
        (ProductChanged.TYPE, {"product_id": str(product.id), "sku": "EMB-1", "name": name, "status": status})
        for name, status in [("Trowel", "active"), ("Hand trowel", "active"), ("Hand trowel", "inactive")]
    ]
    assert all(event.sent_at for event in events)
    record = StockRecord.objects.get(product_id=product.id)
    assert (record.sku, record.name, record.product_status, record.on_hand) == (
        "EMB-1", "Hand trowel", "inactive", 0)


@pytest.mark.django_db(databases=["default", "inventory", "products"], transaction=True)
def test_a_new_product_reaches_inventory_through_kafka(kafka_settings, kafka_broker):
    product = product_services.create_product(sku=f"K-{uuid.uuid4().hex[:8]}", name="Rake", price="12.00")
    relay_outbox("products")

    with running_consumer("inventory"):
        wait_until(lambda: caught_up(kafka_broker.bootstrap_servers, "shop-inventory", "products.events"),
                   what="inventory to consume the product event")

    record = StockRecord.objects.get(product_id=product.id)
    assert (record.sku, record.name, record.product_status) == (product.sku, "Rake", "active")
    assert record.on_hand == 0
    assert product.id in set(selectors.low_stock().values_list("product_id", flat=True))


@pytest.mark.django_db(databases=["products", "inventory"], transaction=True)
def test_announce_products_lets_inventory_catch_up_on_products_it_never_heard_of():
    """Products made before inventory consumed their events (an upgrade): the command backfills."""
    old = [Product.objects.create(sku=f"OLD-{n}", name=f"Old {n}", price="1.00") for n in range(3)]
    assert not StockRecord.objects.exists()

    out = StringIO()
    call_command("announce_products", batch_size=2, stdout=out, stderr=StringIO())
    call_command("announce_products", stdout=StringIO(), stderr=StringIO())  # again: no change

    assert "3 product(s) announced" in out.getvalue()
    assert sorted(StockRecord.objects.values_list("sku", "name", "on_hand")) == [
        (f"OLD-{n}", f"Old {n}", 0) for n in range(3)]
    assert {product.id for product in old} <= set(selectors.low_stock().values_list("product_id", flat=True))
