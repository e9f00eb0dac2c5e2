"""Fault drills against real servers, PostgreSQL and (where events run) Kafka.

Already proven elsewhere, not repeated here: 100 concurrent requests with one Idempotency-Key
charge once (apps/payments/tests/test_concurrency.py, against a real gunicorn server).
"""

import threading
import time
import uuid
from collections import Counter
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests
from django.conf import settings

from apps.payments.models import Payment, SandboxCharge
from apps.payments.tests.conftest import (  # noqa: F401  (fixtures)
    PURCHASE_DATABASES,
    availability,
    make_product,
    purchase_body,
    staff,
)
from tests.support.processes import database_env, start_http_server
from tests.support.proxy import TcpProxy
from tests.support.users import authorization

BUYERS = 200
UNITS = 50


def _wait_for(predicate, timeout: float, what: str):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return
        time.sleep(0.1)
    raise AssertionError(f"no {what} after {timeout}s")


@pytest.mark.django_db(databases=PURCHASE_DATABASES, transaction=True)
def test_200_concurrent_buyers_for_50_units_buy_exactly_50_in_the_monolith(make_product):  # noqa: F811
    product = make_product(stock=UNITS)
    server = start_http_server("drill-oversell", database_env())
    start = threading.Barrier(BUYERS)

    def buy(_):
        headers = {"Authorization": authorization(uuid.uuid4()), "Idempotency-Key": str(uuid.uuid4())}
        start.wait()
        response = requests.post(f"{server.url}/api/v1/payments", json=purchase_body([(product, 1)]),
                                 headers=headers, timeout=120)
        return response.status_code, response.json().get("code")

    try:
        with ThreadPoolExecutor(BUYERS) as pool:
            outcomes = Counter(pool.map(buy, range(BUYERS)))
    finally:
        server.stop()

    assert outcomes == {(201, None): UNITS, (409, "insufficient_stock"): BUYERS - UNITS}, server.log()[-3000:]
    assert SandboxCharge.objects.count() == UNITS
    assert Payment.objects.filter(status="succeeded").count() == UNITS
    stock = availability(product)
    assert (stock.on_hand, stock.available) == (0, 0)  # the sales were applied (in-process events)


@pytest.mark.django_db(databases="__all__", transaction=True)
def test_postgresql_unavailable_flips_readyz_to_503_and_back():
    """Every database of the server goes through a proxy that the drill cuts and restores (the
    machine's PostgreSQL is shared with other runs: it is never stopped)."""
    database = settings.DATABASES["default"]
    proxy = TcpProxy(database["HOST"], int(database["PORT"] or 5432)).start()
    env = {name: url.replace(f"@{database['HOST']}:{database['PORT']}/", f"@127.0.0.1:{proxy.port}/")
           for name, url in database_env().items()}
    assert env["DATABASE_URL"] != database_env()["DATABASE_URL"]
    server = start_http_server("drill-readyz", env)
    readyz = lambda: requests.get(f"{server.url}/readyz", timeout=10)  # noqa: E731
    try:
        assert readyz().status_code == 200

        proxy.cut()
        started = time.monotonic()
        response = readyz()
        assert response.status_code == 503
        assert time.monotonic() - started < 5  # every check has its own short timeout
        failing = response.json()["failing"]
        assert set(failing) == {f"database:{alias}" for alias in settings.DATABASES}, failing
        assert requests.get(f"{server.url}/healthz", timeout=5).status_code == 200  # alive, not ready

        proxy.restore()
        _wait_for(lambda: readyz().status_code == 200, timeout=15, what="/readyz 200 after the restore")
    finally:
        server.stop()
        proxy.cut()
