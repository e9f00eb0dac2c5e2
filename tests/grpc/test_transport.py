"""What the gRPC layer adds around the interfaces: service auth, health, reflection, deadlines,
the circuit breaker, database connections, shutdown, and the registry's choice."""

import os
import signal
import time
from uuid import uuid4

import grpc
import jwt
import pytest
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.db import connections
from grpc_health.v1 import health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection_pb2, reflection_pb2_grpc

from apps.common import registry
from apps.common.api.errors import ServiceUnavailable
from apps.inventory.interface import StockLine
from grpc_api.auth import service_token
from grpc_api.breaker import CLOSED, OPEN
from grpc_api.clients import inventory, users
from grpc_api.gen import users_pb2, users_pb2_grpc
from tests.support.grpc import grpc_db, grpc_server_env
from tests.support.processes import start_grpc_server
from tests.support.users import UserFactory


def _get_user(channel, metadata=()):
    stub = users_pb2_grpc.UsersStub(channel)
    return stub.GetUser(users_pb2.GetUserRequest(user_id=str(uuid4())), metadata=metadata, timeout=5)


def _token(secret=None, **claims):
    """A service token; a claim given as None is left out."""
    now = int(time.time())
    payload = {"iss": "shop-services", "sub": "test", "aud": "users", "iat": now, "exp": now + 60, **claims}
    payload = {name: value for name, value in payload.items() if value is not None}
    return jwt.encode(payload, secret or settings.SERVICE_AUTH_SECRET, algorithm="HS256")


@grpc_db
class TestServiceAuthentication:
    @pytest.mark.parametrize("metadata", [
        (),
        (("authorization", "Basic dXNlcjpwYXNz"),),
        (("authorization", f"Bearer {_token(secret='another service secret ' * 2)}"),),
        (("authorization", f"Bearer {_token(exp=int(time.time()) - 10)}"),),
        (("authorization", f"Bearer {_token(aud='inventory')}"),),  # meant for another app
        (("authorization", f"Bearer {_token(iss='monolith')}"),),
        (("authorization", f"Bearer {_token(exp=int(time.time()) + 3 * 365 * 86400)}"),),
        (("authorization", f"Bearer {_token(iat=int(time.time()) + 600, exp=int(time.time()) + 660)}"),),
        (("authorization", f"Bearer {_token(iat=None)}"),),
    ], ids=["missing", "not-bearer", "other-secret", "expired", "other-audience", "other-issuer",
            "three-years", "issued-in-the-future", "no-issue-time"])
    def test_unauthenticated_callers_are_rejected(self, grpc_server, metadata):
        with grpc.insecure_channel(grpc_server.address) as channel, pytest.raises(grpc.RpcError) as raised:
            _get_user(channel, metadata)
        assert raised.value.code() == grpc.StatusCode.UNAUTHENTICATED
        # One generic answer: a prober learns nothing about which check failed.
        assert raised.value.details() in ("A service token is required.", "Invalid service token.")

    def test_a_valid_token_reaches_the_servicer(self, grpc_server):
        with grpc.insecure_channel(grpc_server.address) as channel, pytest.raises(grpc.RpcError) as raised:
            _get_user(channel, (("authorization", f"Bearer {service_token('users')}"),))
        assert raised.value.code() == grpc.StatusCode.NOT_FOUND


@grpc_db
class TestHealthAndReflection:
    def test_health_answers_without_a_token_for_each_service(self, grpc_server):
        with grpc.insecure_channel(grpc_server.address) as channel:
            health = health_pb2_grpc.HealthStub(channel)
            for service in ("", "shop.users.v1.Users", "shop.products.v1.Products",
                            "shop.inventory.v1.Inventory"):
                response = health.Check(health_pb2.HealthCheckRequest(service=service), timeout=5)
                assert response.status == health_pb2.HealthCheckResponse.SERVING, service

    def test_reflection_lists_the_services(self, grpc_server):
        with grpc.insecure_channel(grpc_server.address) as channel:
            stub = reflection_pb2_grpc.ServerReflectionStub(channel)
            request = reflection_pb2.ServerReflectionRequest(list_services="")
            (response,) = stub.ServerReflectionInfo(iter([request]), timeout=5)
        assert {service.name for service in response.list_services_response.service} == {
            "shop.users.v1.Users", "shop.products.v1.Products", "shop.inventory.v1.Inventory",
            "grpc.health.v1.Health", "grpc.reflection.v1alpha.ServerReflection",
        }

    def test_a_process_serves_only_its_apps(self, grpc_server):
        # Ready (SERVING) only once users, which inventory calls, answers.
        env = grpc_server_env(SERVICE_APPS="inventory", USERS_GRPC_TARGET=grpc_server.address)
        server = start_grpc_server("grpcserve-inventory-only", env)
        try:
            with grpc.insecure_channel(server.address) as channel:
                health = health_pb2_grpc.HealthStub(channel)
                inventory_health = health.Check(
                    health_pb2.HealthCheckRequest(service="shop.inventory.v1.Inventory"), timeout=5)
                assert inventory_health.status == health_pb2.HealthCheckResponse.SERVING
                with pytest.raises(grpc.RpcError) as raised:
                    health.Check(health_pb2.HealthCheckRequest(service="shop.users.v1.Users"), timeout=5)
                assert raised.value.code() == grpc.StatusCode.NOT_FOUND
                with pytest.raises(grpc.RpcError) as raised:
                    _get_user(channel, (("authorization", f"Bearer {service_token('users')}"),))
                assert raised.value.code() == grpc.StatusCode.UNIMPLEMENTED
        finally:
            server.stop()


@grpc_db
class TestFaults:
    @pytest.fixture
    def own_server(self, django_db_setup):
        server = start_grpc_server("grpcserve-faults", grpc_server_env())
        yield server
        server.stop()

    def test_deadline_is_honoured(self, own_server, settings):
        settings.GRPC_DEADLINE_SECONDS = 0.5
        client = inventory.Client(own_server.address)
        client.get_availability([uuid4()])  # connected
        os.kill(own_server.process.pid, signal.SIGSTOP)  # a server that hangs
        started = time.monotonic()
        with pytest.raises(ServiceUnavailable, match="DEADLINE_EXCEEDED"):
            client.get_availability([uuid4()])
        assert 0.5 <= time.monotonic() - started < 1.5
        os.kill(own_server.process.pid, signal.SIGCONT)
        assert client.get_availability([uuid4()])  # and it answers again once it is back

    def test_breaker_opens_when_the_server_dies_and_closes_when_it_is_back(self, own_server, settings):
        settings.GRPC_BREAKER_FAILURES = 3
        settings.GRPC_BREAKER_RESET_SECONDS = 0.5
        client = inventory.Client(own_server.address)
        product = uuid4()
        client.receive_stock("delivery-1", [StockLine(product, 4)], "seed")

        own_server.kill()
        for _ in range(3):
            with pytest.raises(ServiceUnavailable, match="UNAVAILABLE"):
                client.get_availability([product])
        assert client.breaker.state == OPEN
        started = time.monotonic()
        with pytest.raises(ServiceUnavailable, match="circuit open"):
            client.get_availability([product])
        assert time.monotonic() - started < 0.05  # no network, no deadline (2 s)

        restarted = start_grpc_server("grpcserve-faults-restarted", grpc_server_env(), port=own_server.port)
        try:
            deadline = time.monotonic() + 10
            while True:
                try:
                    availability = client.get_availability([product])
                    break
                except ServiceUnavailable:
                    assert time.monotonic() < deadline, "the breaker never closed"
                    time.sleep(0.1)
            assert availability[product].available == 4
            assert client.breaker.state == CLOSED
        finally:
            restarted.stop()

    def test_rpcs_survive_their_database_sessions_being_killed(self, own_server):
        client = users.Client(own_server.address)
        user = UserFactory(email="ada@example.com")
        assert client.get_user(user.id).email == "ada@example.com"
        with connections["users"].cursor() as cursor:
            cursor.execute(
                "SELECT count(pg_terminate_backend(pid)) FROM pg_stat_activity "
                "WHERE application_name = 'grpcserve' AND datname = current_database()"
            )
            assert cursor.fetchone()[0] >= 1
        # The worker threads' connections are checked before each RPC, and replaced.
        for _ in range(20):
            assert client.get_user(user.id).id == user.id

    def test_sigterm_stops_gracefully(self, own_server):
        own_server.process.send_signal(signal.SIGTERM)
        assert own_server.process.wait(15) == 0
        assert "gRPC server stopped" in own_server.log()


class TestRegistry:
    @pytest.fixture(autouse=True)
    def _fresh_registry(self):
        registry.implementation.cache_clear()
        yield
        registry.implementation.cache_clear()

    def test_served_apps_are_called_in_process(self):
        assert registry.implementation("inventory").__name__ == "apps.inventory.local"

    def test_other_apps_through_their_grpc_target(self, settings):
        settings.SERVICE_APPS = ("payments",)
        settings.GRPC_TARGETS = {**settings.GRPC_TARGETS, "inventory": "inventory:50051"}
        client = registry.implementation("inventory")
        assert isinstance(client, inventory.Client)
        assert client.target == "inventory:50051"

    def test_a_missing_target_stops_with_its_name(self, settings):
        settings.SERVICE_APPS = ("payments",)
        settings.GRPC_TARGETS = {**settings.GRPC_TARGETS, "users": None}
        with pytest.raises(ImproperlyConfigured, match="USERS_GRPC_TARGET"):
            registry.implementation("users")
