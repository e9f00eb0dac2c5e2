"""Fault drills against real servers, PostgreSQL and (where events run) Kafka.

Already proven elsewhere, not repeated here:
- 100 concurrent requests with one Idempotency-Key charge once
  (apps/payments/tests/test_concurrency.py, against a real gunicorn server);
- inventory or products killed in split mode: purchases fail fast with 503, charge nothing, and
  heal when it is back (tests/e2e/test_split_mode.py,
  test_a_dead_dependency_fails_purchases_fast_charges_nothing_and_heals);
- a consumer SIGKILLed mid-batch, alone or in a Celery worker, applies every event exactly once
  after its restart (tests/events/test_consumers.py, parametrized over both runners); the worker
  relays from a re-forked pool process (tests/events/test_worker_and_operations.py).
"""

import threading
import time
import uuid
from collections import Counter
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests
from django.conf import settings

from tests.support.api import Api
from tests.support.polling import wait_until
from tests.support.processes import database_env, start_http_server
from tests.support.proxy import TcpProxy
from tests.support.users import authorization

BUYERS = 200
UNITS = 50


def _stocked_product(deployment, units: int) -> tuple[Api, str]:
    """Staff create an active product and receive `units`; (staff client, product id)."""
    staff = Api(deployment.base_url).signed_in(deployment.staff_email, deployment.staff_password)
    tag = uuid.uuid4().hex[:8]
    created = staff.post("/products", {"sku": f"DRILL-{tag}", "name": f"Drill {tag}", "description": "-",
                                       "price": "5.00", "currency": "USD", "status": "active"})
    assert created.status_code == 201, created.text
    product_id = created.json()["id"]
    received = staff.post(f"/inventory/{product_id}/adjustments", {"delta": units, "reason": "received"})
    assert received.status_code == 201, received.text
    return staff, product_id


def _buy_one(deployment, product_id: str) -> tuple[int, str | None]:
    response = requests.post(
        f"{deployment.base_url}/api/v1/payments",
        json={"items": [{"product_id": product_id, "quantity": 1}], "payment_method": {"token": "tok_visa"}},
        headers={"Authorization": authorization(uuid.uuid4()), "Idempotency-Key": str(uuid.uuid4())},
        timeout=120,
    )
    return response.status_code, response.json().get("code")


def _sales_applied(staff: Api, product_id: str, sold: int) -> bool:
    """Every sale in the ledger exactly once: on_hand is the stock received minus `sold`, nothing
    stays reserved, and the ledger holds `sold` sales of one unit beside the one receipt."""
    stock = staff.get(f"/inventory/{product_id}").json()
    ledger = staff.get(f"/inventory/{product_id}/adjustments", params={"page_size": 100}).json()
    deltas = Counter(entry["delta"] for entry in ledger["results"])
    return stock["reserved"] == 0 and deltas[-1] == sold and ledger["count"] == sold + 1


def test_200_concurrent_buyers_for_50_units_buy_exactly_50(deployment):
    staff, product_id = _stocked_product(deployment, UNITS)
    start = threading.Barrier(BUYERS)

    def buy(_):
        start.wait()
        return _buy_one(deployment, product_id)

    with ThreadPoolExecutor(BUYERS) as pool:
        outcomes = Counter(pool.map(buy, range(BUYERS)))

    assert outcomes == {(201, None): UNITS, (409, "insufficient_stock"): BUYERS - UNITS}
    wait_until(lambda: _sales_applied(staff, product_id, UNITS), "the 50 sales to be applied", timeout=90)
    assert staff.get(f"/inventory/{product_id}").json()["on_hand"] == 0


def test_kafka_stopped_mid_run_loses_no_event(monolith_deployment):
    """Purchases go on while the broker is down (their events wait in the outbox); the broker
    comes back empty (Tansu keeps topics in memory), the topics are created again, and every
    purchase's sale is applied exactly once."""
    topology = monolith_deployment.topology
    staff, product_id = _stocked_product(monolith_deployment, 100)
    bought = 0

    def buy(count: int):
        nonlocal bought
        with ThreadPoolExecutor(4) as pool:
            outcomes = Counter(pool.map(lambda _: _buy_one(monolith_deployment, product_id), range(count)))
        assert outcomes == {(201, None): count}
        bought += count

    buy(10)
    topology.kafka.stop()
    try:
        buy(15)  # the broker is down
    finally:
        topology.kafka.start(**topology.spawn)
        topology.servers["kafka"] = topology.kafka.server
        topology.manage("monolith", ["create_topics"])
    buy(5)

    wait_until(lambda: _sales_applied(staff, product_id, bought), "every sale once", timeout=120)
    assert staff.get(f"/inventory/{product_id}").json()["on_hand"] == 100 - bought


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
        wait_until(lambda: readyz().status_code == 200, timeout=15, what="/readyz 200 after the restore")
    finally:
        server.stop()
        proxy.cut()
