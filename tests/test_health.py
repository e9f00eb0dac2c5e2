"""Liveness and readiness of real processes when a peer, Kafka or a database goes away: liveness
stays green, readiness follows only the process's own databases and Redis (no cascade)."""

import sys
import time

import grpc
import requests
from django.conf import settings
from grpc_health.v1 import health_pb2, health_pb2_grpc

from apps.common.observability.health import GRPC_LIVENESS_SERVICE
from tests.support.grpc import grpc_db, grpc_server_env
from tests.support.polling import wait_until
from tests.support.processes import (
    ServerProcess,
    database_env,
    free_port,
    start_grpc_server,
    start_http_server,
    start_process,
)
from tests.support.proxy import TcpProxy

SERVING = health_pb2.HealthCheckResponse.SERVING
NOT_SERVING = health_pb2.HealthCheckResponse.NOT_SERVING
INVENTORY = "shop.inventory.v1.Inventory"
READINESS_INTERVAL = 0.2


def _health(address: str, service: str = ""):
    with grpc.insecure_channel(address) as channel:
        try:
            return health_pb2_grpc.HealthStub(channel).Check(
                health_pb2.HealthCheckRequest(service=service), timeout=2).status
        except grpc.RpcError:
            return None


def _grpcserve(name: str, env: dict) -> ServerProcess:
    port = free_port()
    command = [sys.executable, "manage.py", "grpcserve", "--port", str(port),
               "--readiness-interval", str(READINESS_INTERVAL)]
    return start_process(name, command, {"METRICS_PORT": str(free_port()), **env}, port)


def _readiness_over_several_refreshes(address: str) -> set:
    """gRPC health of the whole server and of a service, sampled across ten refresh intervals."""
    seen = set()
    for _ in range(10):
        seen |= {_health(address), _health(address, INVENTORY)}
        time.sleep(READINESS_INTERVAL)
    return seen


@grpc_db
def test_a_peer_outage_leaves_the_processes_that_call_it_ready():
    users = start_grpc_server("health-users", grpc_server_env(SERVICE_APPS="users"))
    env = grpc_server_env(SERVICE_APPS="inventory", USERS_GRPC_TARGET=users.address)
    stock_grpc = _grpcserve("health-inventory-grpc", env)
    stock_http = start_http_server("health-inventory-http", env)
    readyz = lambda: requests.get(f"{stock_http.url}/readyz", timeout=10)  # noqa: E731
    try:
        wait_until(lambda: _health(stock_grpc.address) == SERVING, "inventory's gRPC health SERVING")
        assert readyz().json()["checks"]["grpc:users"] == "ok"

        users.stop()
        response = readyz()
        assert response.status_code == 200, response.json()
        body = response.json()
        # Inventory's admin also calls products, which this test does not start: degraded too.
        assert body["failing"] == [] and body["degraded"] == ["grpc:products", "grpc:users"]
        assert body["checks"]["grpc:users"] != "ok"  # reported, with its reason
        assert _readiness_over_several_refreshes(stock_grpc.address) == {SERVING}
        assert _health(stock_grpc.address, GRPC_LIVENESS_SERVICE) == SERVING
    finally:
        for server in (stock_http, stock_grpc, users):
            server.stop()
    assert "not ready" not in stock_grpc.log()


def test_kafka_down_leaves_payments_ready():
    env = {**database_env(["payments"]), "KAFKA_BOOTSTRAP_SERVERS": f"127.0.0.1:{free_port()}"}
    server = start_http_server("health-payments-no-kafka", env)
    try:
        response = requests.get(f"{server.url}/readyz", timeout=10)
    finally:
        server.stop()
    body = response.json()
    assert response.status_code == 200, body
    assert body["checks"]["kafka"] != "ok" and "kafka" in body["degraded"]
    assert body["failing"] == []


@grpc_db
def test_a_database_cut_fails_readiness_naming_it_and_never_liveness():
    """inventory's database goes through a proxy the test cuts (the shared PostgreSQL is never
    stopped). grpcserve starts while it is cut: it serves at once, alive and not ready."""
    database = settings.DATABASES["inventory"]
    proxy = TcpProxy(database["HOST"], int(database["PORT"] or 5432))
    upstream = f"@{database['HOST']}:{database['PORT']}/"
    env = grpc_server_env(SERVICE_APPS="inventory", USERS_GRPC_TARGET=f"127.0.0.1:{free_port()}")
    through_proxy = f"@127.0.0.1:{proxy.port}/"
    env["DATABASE_URL_INVENTORY"] = env["DATABASE_URL_INVENTORY"].replace(upstream, through_proxy)
    stock_grpc = _grpcserve("health-db-cut-grpc", env)
    stock_http = start_http_server("health-db-cut-http", env)
    readyz = lambda: requests.get(f"{stock_http.url}/readyz", timeout=10)  # noqa: E731
    try:
        wait_until(lambda: _health(stock_grpc.address, GRPC_LIVENESS_SERVICE) == SERVING,
                  "grpcserve's liveness SERVING while its database is cut")
        assert _health(stock_grpc.address) == NOT_SERVING
        assert readyz().status_code == 503

        proxy.start()
        wait_until(lambda: _health(stock_grpc.address) == SERVING, "gRPC SERVING once the database answers")
        # The HTTP server's pool reconnects on its own schedule, not the gRPC server's.
        wait_until(lambda: readyz().status_code == 200, "/readyz 200 once the database answers")

        proxy.cut()
        response = readyz()
        assert response.status_code == 503
        assert response.json()["failing"] == ["database:inventory"]
        assert requests.get(f"{stock_http.url}/healthz", timeout=5).status_code == 200
        wait_until(lambda: _health(stock_grpc.address) == NOT_SERVING, "gRPC NOT_SERVING after the cut")
        assert _health(stock_grpc.address, INVENTORY) == NOT_SERVING
        assert _health(stock_grpc.address, GRPC_LIVENESS_SERVICE) == SERVING
    finally:
        stock_http.stop()
        stock_grpc.stop()
        proxy.cut()
    assert "not ready: database:inventory" in stock_grpc.log()
