"""One purchase is one trace across split processes: the REST request in payments, its gRPC calls
to products and inventory, the outbox relay's publish to Kafka and inventory's consumer handling
`payments.purchase_completed`. Every process exports over OTLP to a receiver in this test."""

import sys
import uuid

import pytest
import requests
from rest_framework.test import APIClient

from apps.common.events.outbox import outbox_model
from apps.inventory import interface as inventory
from apps.payments.event_types import PurchaseCompleted
from tests.support.otlp import OtlpReceiver
from tests.support.processes import (
    database_env,
    manage,
    start_grpc_server,
    start_http_server,
    start_process,
)
from tests.support.users import authorization


def _new_product(stock: int) -> uuid.UUID:
    staff = APIClient()
    staff.credentials(HTTP_AUTHORIZATION=authorization(is_staff=True))
    response = staff.post("/api/v1/products", {
        "sku": f"SKU-{uuid.uuid4().hex[:12]}", "name": "Traced", "price": "12.50", "currency": "USD",
        "status": "active",
    }, format="json")
    assert response.status_code == 201, response.json()
    product_id = uuid.UUID(response.json()["id"])
    inventory.receive_stock(f"receipt-{product_id}", [inventory.StockLine(product_id, stock)],
                            reason="received")
    return product_id


def _ancestors(span, by_id) -> list:
    chain = []
    while span.parent_span_id in by_id:
        span = by_id[span.parent_span_id]
        chain.append(span)
    return chain


@pytest.mark.django_db(databases="__all__", transaction=True)
def test_one_purchase_is_one_trace_across_processes(kafka_broker):
    product_id = _new_product(stock=5)
    kafka = {"KAFKA_BOOTSTRAP_SERVERS": kafka_broker.bootstrap_servers, "KAFKA_DELIVERY_TIMEOUT_SECONDS": "5"}
    with OtlpReceiver() as receiver:
        traced = receiver.otlp_env()
        processes = []
        try:
            catalogue = start_grpc_server("trace-users-products", {
                **database_env(["users", "products"]), **traced, "SERVICE_NAME": "trace-products"})
            processes.append(catalogue)
            targets = {"USERS_GRPC_TARGET": catalogue.address, "PRODUCTS_GRPC_TARGET": catalogue.address}
            stock = start_grpc_server("trace-inventory", {
                **database_env(["inventory"]), **traced, **targets, "SERVICE_NAME": "trace-inventory"})
            processes.append(stock)
            targets["INVENTORY_GRPC_TARGET"] = stock.address
            consume = [sys.executable, "manage.py", "consume_events", "--app", "inventory"]
            consumer = start_process(
                "trace-inventory-consumer", consume,
                {**database_env(["inventory"]), **traced, **kafka, **targets,
                 "SERVICE_NAME": "trace-inventory-consumer"}, port=0)
            processes.append(consumer)
            payments_env = {**database_env(["payments"]), **traced, **kafka, **targets}
            web = start_http_server("trace-payments", {**payments_env, "SERVICE_NAME": "trace-payments"})
            processes.append(web)

            response = requests.post(
                f"{web.url}/api/v1/payments",
                json={"items": [{"product_id": str(product_id), "quantity": 2}],
                      "payment_method": {"token": "tok_visa"}},
                headers={"Authorization": authorization(), "Idempotency-Key": str(uuid.uuid4())}, timeout=30,
            )
            assert response.status_code == 201, response.text
            outbox = outbox_model("payments").objects
            event_id = str(outbox.get(key=response.json()["id"], type=PurchaseCompleted.TYPE).id)
            relayed = manage(["relay_outbox", "--app", "payments"],
                             {**payments_env, "SERVICE_NAME": "trace-payments-relay"})
            assert relayed.returncode == 0, relayed.stderr

            def of_event(span):
                return span.attributes.get("messaging.message.id") == event_id

            (handled,) = receiver.wait_for(lambda s: of_event(s) and s.kind == "CONSUMER", what="handler")
            (published,) = receiver.wait_for(lambda s: of_event(s) and s.kind == "PRODUCER", what="publish")
            (rest,) = receiver.wait_for(lambda s: s.trace_id == handled.trace_id and s.kind == "SERVER"
                                        and s.service == "trace-payments", what="REST span")
        finally:
            for process in reversed(processes):
                process.stop()

        trace = [span for span in receiver.spans if span.trace_id == rest.trace_id]
    by_id = {span.span_id: span for span in trace}
    assert handled.service == "trace-inventory-consumer" and handled.trace_id == rest.trace_id
    assert published.service == "trace-payments-relay" and published.trace_id == rest.trace_id
    assert rest in _ancestors(handled, by_id) and rest in _ancestors(published, by_id)
    grpc_calls = {(span.service, span.kind, span.name)
                  for span in trace if span.attributes.get("rpc.system") == "grpc"}
    assert {
        ("trace-payments", "CLIENT", "/shop.products.v1.Products/GetProducts"),
        ("trace-products", "SERVER", "/shop.products.v1.Products/GetProducts"),
        ("trace-payments", "CLIENT", "/shop.inventory.v1.Inventory/Reserve"),
        ("trace-inventory", "SERVER", "/shop.inventory.v1.Inventory/Reserve"),
    } <= grpc_calls, grpc_calls
    for span in trace:
        if span is not rest:
            assert rest in _ancestors(span, by_id), f"{span.service} {span.name} is not under the request"
    # The handler's work (its database writes) is in the trace too, under the handler span.
    assert any(handled in _ancestors(span, by_id)
               for span in trace if span.service == "trace-inventory-consumer")
