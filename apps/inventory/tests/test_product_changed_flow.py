"""`products.product_changed` from the products outbox to inventory's product read model, in the
embedded mode (in-process dispatch after commit) and through Kafka. The catalogue is changed
through the products API, as staff would."""

import uuid
from io import StringIO

import pytest
from django.core.management import call_command

from apps.common.events.outbox import outbox_model
from apps.common.events.relay import relay_outbox
from apps.inventory import selectors
from apps.inventory.models import StockRecord
from apps.products.event_types import ProductChanged
from tests.support.consumers import running_consumer
from tests.support.kafka import caught_up
from tests.support.polling import wait_until

PRODUCTS = "/api/v1/products"


def _create(staff_client, sku: str, name: str, price: str) -> uuid.UUID:
    response = staff_client.post(PRODUCTS, {"sku": sku, "name": name, "price": price}, format="json")
    assert response.status_code == 201, response.content
    return uuid.UUID(response.json()["id"])


@pytest.mark.django_db(databases=["products", "inventory"], transaction=True)
def test_products_emits_on_create_update_and_deactivate_and_inventory_follows_in_process(staff_client):
    """The embedded mode: the outbox is relayed after commit to inventory's handler."""
    product_id = _create(staff_client, "EMB-1", "Trowel", "5.00")
    assert staff_client.patch(f"{PRODUCTS}/{product_id}", {"name": "Hand trowel"},
                              format="json").status_code == 200
    assert staff_client.delete(f"{PRODUCTS}/{product_id}").status_code == 204

    events = list(outbox_model("products").objects.order_by("created_at"))
    assert [(event.type, event.payload["data"]) for event in events] == [
        (ProductChanged.TYPE, {"product_id": str(product_id), "sku": "EMB-1", "name": name, "status": status})
        for name, status in [("Trowel", "active"), ("Hand trowel", "active"), ("Hand trowel", "inactive")]
    ]
    assert all(event.sent_at for event in events)
    record = StockRecord.objects.get(product_id=product_id)
    assert (record.sku, record.name, record.product_status, record.on_hand) == (
        "EMB-1", "Hand trowel", "inactive", 0)


@pytest.mark.django_db(databases=["default", "inventory", "products"], transaction=True)
def test_a_new_product_reaches_inventory_through_kafka(kafka_settings, kafka_broker, staff_client):
    sku = f"K-{uuid.uuid4().hex[:8]}"
    product_id = _create(staff_client, sku, "Rake", "12.00")
    relay_outbox("products")

    with running_consumer("inventory"):
        wait_until(lambda: caught_up(kafka_broker.bootstrap_servers, "shop-inventory", "products.events"),
                   what="inventory to consume the product event")

    record = StockRecord.objects.get(product_id=product_id)
    assert (record.sku, record.name, record.product_status) == (sku, "Rake", "active")
    assert record.on_hand == 0
    assert product_id in set(selectors.low_stock().values_list("product_id", flat=True))


@pytest.mark.django_db(databases=["products", "inventory"], transaction=True)
def test_announce_products_lets_inventory_catch_up_on_products_it_never_heard_of(staff_client):
    """Products inventory never heard of (made before it consumed their events, an upgrade): the
    command backfills."""
    old = [_create(staff_client, f"OLD-{n}", f"Old {n}", "1.00") for n in range(3)]
    StockRecord.objects.all().delete()  # inventory's read model, as before the upgrade

    out = StringIO()
    call_command("announce_products", batch_size=2, stdout=out, stderr=StringIO())
    call_command("announce_products", stdout=StringIO(), stderr=StringIO())  # again: no change

    assert "3 product(s) announced" in out.getvalue()
    assert sorted(StockRecord.objects.values_list("sku", "name", "on_hand")) == [
        (f"OLD-{n}", f"Old {n}", 0) for n in range(3)]
    assert set(old) <= set(selectors.low_stock().values_list("product_id", flat=True))
