"""gRPC metrics on both sides of a call, and /readyz reporting the gRPC dependencies."""

import json
from uuid import uuid4

import grpc
import pytest
import requests
from django.test import RequestFactory
from prometheus_client.parser import text_string_to_metric_families

from apps.common.observability.health import readyz
from apps.inventory.interface import InsufficientStock, StockLine
from grpc_api.clients import inventory, products
from grpc_api.gen import users_pb2, users_pb2_grpc
from tests.support.grpc import grpc_db, grpc_server_env
from tests.support.metrics import sample
from tests.support.processes import free_port, start_grpc_server

PRODUCTS = "shop.products.v1.Products"
INVENTORY = "shop.inventory.v1.Inventory"


def _client_count(service, method, code) -> float:
    return sample("shop_grpc_client_requests_total", service=service, method=method, code=code)


@grpc_db
def test_rpcs_are_counted_by_status_code_on_both_sides():
    metrics_port = free_port()
    server = start_grpc_server("grpcserve-metrics", grpc_server_env(METRICS_PORT=str(metrics_port)))
    try:
        ok_before = _client_count(PRODUCTS, "GetProducts", "OK")
        short_before = _client_count(INVENTORY, "Reserve", "FAILED_PRECONDITION")
        assert products.Client(server.address).get_products([uuid4()]) == {}
        with pytest.raises(InsufficientStock):
            inventory.Client(server.address).reserve(f"pay-{uuid4()}", [StockLine(uuid4(), 1)])
        with grpc.insecure_channel(server.address) as channel, pytest.raises(grpc.RpcError):
            request = users_pb2.GetUserRequest(user_id=str(uuid4()))
            users_pb2_grpc.UsersStub(channel).GetUser(request, timeout=5)  # without a service token
        body = requests.get(f"http://127.0.0.1:{metrics_port}/metrics", timeout=5).text
    finally:
        server.stop()

    assert _client_count(PRODUCTS, "GetProducts", "OK") == ok_before + 1
    assert _client_count(INVENTORY, "Reserve", "FAILED_PRECONDITION") == short_before + 1
    served = {(s.labels["service"], s.labels["method"], s.labels["code"]): s.value
              for family in text_string_to_metric_families(body) for s in family.samples
              if s.name == "shop_grpc_server_requests_total"}
    assert served == {
        (PRODUCTS, "GetProducts", "OK"): 1,
        (INVENTORY, "Reserve", "FAILED_PRECONDITION"): 1,
        ("shop.users.v1.Users", "GetUser", "UNAUTHENTICATED"): 1,  # refused by the token check
    }  # and the health checks that waited for the server are not counted
    latencies = [s for family in text_string_to_metric_families(body) for s in family.samples
                 if s.name == "shop_grpc_server_latency_seconds_count"]
    assert sum(sample.value for sample in latencies) == 3


@pytest.mark.django_db(databases="__all__")
def test_readyz_reports_each_grpc_dependency_and_names_the_failing_one_without_failing(settings, grpc_server):
    settings.SERVICE_APPS = ("payments",)
    settings.GRPC_TARGETS = {**settings.GRPC_TARGETS, "users": grpc_server.address,
                             "products": grpc_server.address, "inventory": f"127.0.0.1:{free_port()}"}
    # The view itself: resolving a URL now would cache a URL conf built for payments alone.
    response = readyz(RequestFactory().get("/readyz"))

    assert response.status_code == 200  # a peer's outage must not take this process out too
    body = json.loads(response.content)
    assert body["failing"] == [] and body["degraded"] == ["grpc:inventory"]
    assert body["checks"]["grpc:users"] == body["checks"]["grpc:products"] == "ok"
