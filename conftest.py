import os

import pytest
from django.conf import settings
from django.core.cache import cache

from apps.common import db_guard
from apps.products import catalogue_cache

db_guard.install()

# The shared fixtures come from these plugins (tests/fixtures/), so a name means one thing in every
# test; helpers are plain modules of tests/support/ (docs/architecture.md, "Tests").
pytest_plugins = [
    "tests.fixtures.clients",
    "tests.fixtures.purchases",
    "tests.fixtures.events",
    "tests.fixtures.grpc",
    "tests.fixtures.deployments",
    "tests.fixtures.browser",
]


def pytest_configure(config):
    engines = {db["ENGINE"].rsplit(".", 1)[-1] for db in settings.DATABASES.values()}
    if engines != {"postgresql"} and not os.environ.get("ALLOW_SQLITE_TESTS"):
        raise pytest.UsageError(
            "The suite runs against PostgreSQL: run it with `make test` (it sets DATABASE_URL_*)."
        )


@pytest.fixture(scope="session")
def django_db_modify_db_settings(django_db_modify_db_settings_parallel_suffix):
    """TEST_DB_SUFFIX lets several checkouts run the suite at once against one PostgreSQL."""
    suffix = os.environ.get("TEST_DB_SUFFIX")
    for db in settings.DATABASES.values():
        # No app database depends on `default`: a test may name only the ones it uses.
        db.setdefault("TEST", {}).setdefault("DEPENDENCIES", [])
        # This process connects once per thread (its race tests run 50 threads at once); every
        # server a test starts has the pool (DATABASE_POOL_MAX_SIZE), as in production.
        db.get("OPTIONS", {}).pop("pool", None)
        if suffix:
            db["TEST"]["NAME"] = f"test_{db['NAME']}_{suffix}"


@pytest.fixture(autouse=True)
def _empty_cache():
    """Each test starts with an empty cache (only this run's keys: runs may share Redis)."""
    cache.delete_pattern("*")
    catalogue_cache.bump()  # and this process drops the catalogue entries it holds
    yield

