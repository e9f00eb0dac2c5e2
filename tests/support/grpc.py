"""A `manage.py grpcserve` of this run's test databases, as the gRPC tests start it."""

import pytest

from grpc_api.server import GRPC_APPS
from tests.support.processes import database_env

# A test whose rows a server process must see: transactional tests commit.
grpc_db = pytest.mark.django_db(databases=["default", *GRPC_APPS], transaction=True)


def grpc_server_env(**extra) -> dict[str, str]:
    env = database_env(GRPC_APPS)
    # Tag the server's database sessions, so a test can find (and kill) them.
    for key, url in env.items():
        if key.startswith("DATABASE_URL"):
            env[key] = f"{url}?application_name=grpcserve"
    return {**env, **extra}
