"""PostgreSQL connections: bounded by a pool per process and alias, with connect and statement
timeouts, and safe across fork (Celery's prefork pool processes)."""

import os
import uuid
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests
from django.db import connections

from config.env import SQLITE_OPTIONS, DatabaseLimits, env_database
from tests.support.processes import database_env, start_http_server

LIMITS = DatabaseLimits(connect_timeout=3, statement_timeout_ms=1500, pool_max_size=6)


def test_a_postgresql_database_gets_its_timeouts_and_a_pool(monkeypatch):
    monkeypatch.setenv("SOME_DATABASE_URL", "postgres://shop@db.internal:5432/shop?options=-c%20search_path%3Dshop")
    config = env_database("SOME_DATABASE_URL", "unused.sqlite3", LIMITS)
    assert config["OPTIONS"]["connect_timeout"] == 3
    assert config["OPTIONS"]["tcp_user_timeout"] == 3000  # ms: a vanished host fails the statement
    assert config["OPTIONS"]["options"] == "-c search_path=shop -c statement_timeout=1500"
    assert config["OPTIONS"]["pool"] == {"min_size": 0, "max_size": 6, "timeout": 3}
    # Returned to the pool after each request; no SELECT 1 before each.
    assert config["CONN_MAX_AGE"] == 0
    assert config["CONN_HEALTH_CHECKS"] is False


def test_pool_size_0_turns_the_pool_off(monkeypatch):
    monkeypatch.setenv("SOME_DATABASE_URL", "postgres://shop@db.internal:5432/shop")
    config = env_database("SOME_DATABASE_URL", "unused.sqlite3", DatabaseLimits(5, 0, 0))
    assert "pool" not in config["OPTIONS"]
    assert "options" not in config["OPTIONS"]  # statement timeout 0: none
    assert config["CONN_MAX_AGE"] == 0


def test_the_embedded_default_queues_its_writers(monkeypatch):
    monkeypatch.delenv("SOME_DATABASE_URL", raising=False)
    config = env_database("SOME_DATABASE_URL", "var/x.sqlite3", LIMITS)
    assert config["OPTIONS"] == SQLITE_OPTIONS
    assert SQLITE_OPTIONS == {"transaction_mode": "IMMEDIATE", "timeout": 20,
                              "init_command": "PRAGMA journal_mode=WAL;"}


@pytest.mark.django_db(databases=["default", "products"], transaction=True)
def test_a_server_never_holds_more_connections_than_its_pool():
    """32 concurrent requests on 8 threads: with a pool of 2 the server opens at most 2
    connections to the products database (it held one per thread before: 8)."""
    tag = f"pooltest-{uuid.uuid4().hex[:8]}"
    env = {name: f"{url}?application_name={tag}" if name.startswith("DATABASE_URL") else url
           for name, url in database_env().items()}
    server = start_http_server("pool-bounded", {**env, "DATABASE_POOL_MAX_SIZE": "2"})
    try:
        with ThreadPoolExecutor(32) as pool:
            answers = list(pool.map(lambda page: requests.get(
                f"{server.url}/api/v1/products?page_size={page % 5 + 1}", timeout=30), range(32)))
        assert {answer.status_code for answer in answers} == {200}
        with connections["products"].cursor() as cursor:
            cursor.execute("SELECT count(*) FROM pg_stat_activity WHERE application_name = %s "
                           "AND datname = current_database()", [tag])
            opened = cursor.fetchone()[0]
    finally:
        server.stop()
    assert 1 <= opened <= 2


@pytest.fixture
def pooled_inventory():
    """The pool for the inventory alias of this process (the suite's own process runs without
    one, see conftest.py), fresh, as a server process has it."""
    connection = connections["inventory"]
    connection.close()
    connection.settings_dict["OPTIONS"]["pool"] = {"min_size": 0, "max_size": 2, "timeout": 3}
    yield connection
    connection.close()
    connection.close_pool()
    del connection.settings_dict["OPTIONS"]["pool"]


@pytest.mark.django_db(databases=["inventory"], transaction=True)
def test_a_forked_process_opens_its_own_pool_and_leaves_the_parents_sessions_alone(pooled_inventory):
    import config.celery  # noqa: F401  (what a Celery worker imports: it registers the fork hook)

    connection = pooled_inventory
    assert connection.pool is not None

    def backend_pid() -> int:
        with connections["inventory"].cursor() as cursor:
            cursor.execute("SELECT pg_backend_pid()")
            return cursor.fetchone()[0]

    parent_session = backend_pid()
    connection.close()  # back to the pool, idle there when the child is forked
    child = os.fork()
    if child == 0:  # pragma: no cover (the child reports through its exit code)
        code = 3
        try:
            code = 0 if backend_pid() != parent_session else 2
            connections["inventory"].close_pool()
        finally:
            os._exit(code)
    _, status = os.waitpid(child, 0)
    assert os.waitstatus_to_exitcode(status) == 0  # 2: the child used the parent's session
    assert backend_pid() == parent_session  # still alive, and still this process's own
