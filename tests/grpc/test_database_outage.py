"""A gRPC servicer whose database cannot be reached answers UNAVAILABLE (it was UNKNOWN): the
client retries it (idempotent methods only), counts it in its breaker and raises
ServiceUnavailable, so a purchase in split mode answers 503 (it was 500) and frees its key."""

import re
import time
import uuid

import grpc
import pytest
import requests
from django.conf import settings

from apps.common.api.errors import ServiceUnavailable
from grpc_api.auth import service_token
from grpc_api.breaker import OPEN
from grpc_api.clients import inventory
from grpc_api.errors import CODE_KEY
from grpc_api.gen import inventory_pb2, inventory_pb2_grpc
from tests.support.grpc import grpc_server_env
from tests.support.processes import database_env, free_port, start_grpc_server, start_http_server
from tests.support.proxy import TcpProxy
from tests.support.purchases import purchase_body
from tests.support.users import authorization

pytestmark = pytest.mark.django_db(
    databases=["default", "users", "products", "inventory", "payments"], transaction=True,
)
RETRY_ATTEMPTS = 4  # grpc_api/clients/base.py's retry policy


@pytest.fixture
def inventory_proxy():
    database = settings.DATABASES["inventory"]
    proxy = TcpProxy(database["HOST"], int(database["PORT"] or 5432)).start()
    yield proxy
    proxy.cut()


@pytest.fixture
def metrics_port():
    return free_port()


@pytest.fixture
def grpc_server(inventory_proxy, metrics_port):
    database = settings.DATABASES["inventory"]
    env = grpc_server_env(
        DATABASE_URL_INVENTORY=f"postgres://{database['USER']}@127.0.0.1:{inventory_proxy.port}/{database['NAME']}",
        DATABASE_CONNECT_TIMEOUT="1", METRICS_PORT=str(metrics_port),
    )
    server = start_grpc_server("grpcserve-database-outage", env)
    yield server
    server.stop()


def _served(metrics_port: int, method: str, code: str) -> float:
    """shop_grpc_server_requests_total of the Inventory `method` answered with `code`."""
    exposition = requests.get(f"http://127.0.0.1:{metrics_port}/metrics", timeout=5).text
    pattern = rf'shop_grpc_server_requests_total\{{[^}}]*code="{code}"[^}}]*method="{method}"[^}}]*\}} (\S+)'
    return sum(float(value) for value in re.findall(pattern, exposition))


def test_a_servicer_without_its_database_answers_unavailable(
        grpc_server, inventory_proxy, metrics_port, settings):
    inventory_proxy.cut()
    stub = inventory_pb2_grpc.InventoryStub(grpc.insecure_channel(grpc_server.address))
    with pytest.raises(grpc.RpcError) as raised:
        stub.GetAvailability(
            inventory_pb2.GetAvailabilityRequest(product_ids=[str(uuid.uuid4())]),
            metadata=(("authorization", f"Bearer {service_token('inventory')}"),), timeout=10,
        )
    assert raised.value.code() == grpc.StatusCode.UNAVAILABLE  # was UNKNOWN
    assert dict(raised.value.trailing_metadata())[CODE_KEY] == "service_unavailable"

    settings.GRPC_DEADLINE_SECONDS = 30  # room for every retry (each waits a connect timeout)
    settings.GRPC_BREAKER_FAILURES = 2
    client = inventory.Client(grpc_server.address)
    served_before = _served(metrics_port, "GetAvailability", "UNAVAILABLE")
    for _ in range(2):
        with pytest.raises(ServiceUnavailable):
            client.get_availability([uuid.uuid4()])
    assert client.breaker.state == OPEN  # both counted
    assert _served(metrics_port, "GetAvailability", "UNAVAILABLE") - served_before == 2 * RETRY_ATTEMPTS


def test_a_split_purchase_answers_503_and_frees_its_key_when_inventory_loses_its_database(
        grpc_server, inventory_proxy, stocked_product):
    product = stocked_product(stock=3)
    apps = ["users", "products", "payments"]
    web = start_http_server("payments-split-database-outage", {
        **database_env(apps), "INVENTORY_GRPC_TARGET": grpc_server.address, "GRPC_DEADLINE_SECONDS": "10",
    })
    shopper = {"Authorization": authorization(uuid.uuid4())}
    headers = {**shopper, "Idempotency-Key": str(uuid.uuid4())}
    buy = lambda: requests.post(f"{web.url}/api/v1/payments", json=purchase_body([(product, 1)]),  # noqa: E731
                                headers=headers, timeout=30)
    statuses = lambda: [payment["status"] for payment in requests.get(  # noqa: E731
        f"{web.url}/api/v1/payments", headers=shopper, timeout=30).json()["results"]]
    try:
        inventory_proxy.cut()
        response = buy()
        assert response.status_code == 503, response.text  # was 500 internal_error
        assert response.json()["code"] == "service_unavailable"
        assert "Retry-After" in response.headers
        assert "succeeded" not in statuses()  # nothing charged

        inventory_proxy.restore()
        deadline = time.monotonic() + 20
        while (response := buy()).status_code == 503:  # until the breaker lets a trial through
            assert time.monotonic() < deadline, response.text
            time.sleep(0.2)
        # The same Idempotency-Key buys once inventory is back: the failed attempt freed it.
        assert response.status_code == 201, response.text
        assert statuses().count("succeeded") == 1
    finally:
        web.stop()
