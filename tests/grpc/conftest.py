"""A real `manage.py grpcserve` on this run's test databases, and the two implementations of
each interface (in-process and over gRPC) that the parity tests run against."""

from importlib import import_module

import pytest

from grpc_api.server import GRPC_APPS
from tests.support.processes import database_env, start_grpc_server

# Every test here reads or writes rows a server process must see: transactional tests commit.
grpc_db = pytest.mark.django_db(databases=["default", *GRPC_APPS], transaction=True)


def grpc_server_env(**extra) -> dict[str, str]:
    env = database_env(GRPC_APPS)
    # Tag the server's database sessions, so a test can find (and kill) them.
    for key, url in env.items():
        if key.startswith("DATABASE_URL"):
            env[key] = f"{url}?application_name=grpcserve"
    return {**env, **extra}


@pytest.fixture(scope="session")
def grpc_server(django_db_setup):
    server = start_grpc_server("grpcserve", grpc_server_env())
    yield server
    server.stop()


def _implementation(request, app: str):
    if request.param == "local":
        return import_module(f"apps.{app}.local")
    server = request.getfixturevalue("grpc_server")
    return import_module(f"grpc_api.clients.{app}").Client(server.address)


@pytest.fixture(params=["local", "grpc"])
def users_api(request):
    return _implementation(request, "users")


@pytest.fixture(params=["local", "grpc"])
def products_api(request):
    return _implementation(request, "products")


@pytest.fixture(params=["local", "grpc"])
def inventory_api(request):
    return _implementation(request, "inventory")
