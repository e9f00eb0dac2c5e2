"""The deployments the end-to-end suite, the drills and the browser journey run against, each
started once per session (a pytest plugin of the root conftest.py, so every folder shares them).

`monolith_deployment` (one process group serving every app) and `split_deployment` (the four
services behind nginx; `deployment` is either, parametrized) each have their own databases
(`test_e2e_<mode>_*`), created here and dropped at the end, so the two never share state and
neither shares pytest-django's test databases, which other tests flush.
"""

import os
from dataclasses import dataclass

import pytest
from django.conf import settings

from tests.support.processes import ARTIFACTS
from tests.support.split import Topology

STAFF_EMAIL = "staff@example.com"
STAFF_PASSWORD = "staff-Horse-battery-7"


@dataclass
class Deployment:
    topology: Topology
    staff_email: str = STAFF_EMAIL
    staff_password: str = STAFF_PASSWORD

    @property
    def mode(self) -> str:
        return self.topology.mode

    @property
    def base_url(self) -> str:
        return self.topology.base_url


def _running(mode: str):
    """Start the deployment, create its staff account, yield it; stop it and drop its databases."""
    default = settings.DATABASES["default"]
    suffix = os.environ.get("TEST_DB_SUFFIX")
    topology = Topology(
        mode,
        database_prefix=f"test_e2e_{mode}" + (f"_{suffix}" if suffix else ""),
        postgres_url=f"postgres://{default['USER']}@{default['HOST']}:{default['PORT']}",
        redis_url=settings.REDIS_URL,
        secrets={"JWT_SIGNING_KEY": settings.JWT_KEYS.signing_pem,
                 "SERVICE_AUTH_SECRET": settings.SERVICE_AUTH_SECRET,
                 "DJANGO_SECRET_KEY": settings.SECRET_KEY},
        log_dir=ARTIFACTS / f"e2e-{mode}",
        detached=True,  # each process its own group, so a kill takes gunicorn's workers too
    )
    topology.start(recreate_databases=True)
    try:
        topology.manage(topology.group_serving("users"), ["createsuperuser", "--noinput"],
                        {"DJANGO_SUPERUSER_EMAIL": STAFF_EMAIL, "DJANGO_SUPERUSER_PASSWORD": STAFF_PASSWORD})
        yield Deployment(topology)
    finally:
        topology.stop()
        topology.drop_databases()


@pytest.fixture(scope="session")
def monolith_deployment():
    yield from _running("monolith")


@pytest.fixture(scope="session")
def split_deployment():
    yield from _running("split")


@pytest.fixture(params=["monolith", "split"])
def deployment(request) -> Deployment:
    """Each test using it runs against both deployments."""
    return request.getfixturevalue(f"{request.param}_deployment")
