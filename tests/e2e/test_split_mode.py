"""What only split mode has: the proxy's routing and dead dependencies. (Staff signing in to a
products-only admin through users is tests/test_split_admin.py.)"""

import re
import time
import uuid

import psycopg
import pytest
import requests
import yaml

from config import nginx
from config.routes import ROUTES
from tests.support.api import Api
from tests.support.polling import wait_until
from tests.support.problems import assert_problem
from tests.support.processes import REPO_ROOT

LOCATION = re.compile(r"location (=|\^~) (\S+) \{ proxy_pass http://(\w+); \}")


def virtual_service_routes() -> set[tuple[str, str, str]]:
    """(match, path, app) for every route of the Istio VirtualService rendered for split mode."""
    documents = yaml.safe_load_all((REPO_ROOT / "deploy" / "split.yaml").read_text())
    service = next(doc for doc in documents if doc["kind"] == "VirtualService")
    routes = set()
    for http in service["spec"]["http"]:
        (route,) = http["route"]
        app = route["destination"]["host"].split(".")[0].removeprefix("shop-")
        for match in http["match"]:
            ((kind, path),) = match["uri"].items()
            routes.add((kind, path, app))
    return routes


def test_nginx_routes_every_prefix_where_the_istio_virtual_service_does(tmp_path):
    upstreams = {app: f"127.0.0.1:{8001 + index}" for index, app in enumerate(ROUTES)}
    config = nginx.render(8080, upstreams, tmp_path)
    modifiers = {"=": "exact", "^~": "prefix"}
    nginx_routes = {(modifiers[modifier], path, app) for modifier, path, app in LOCATION.findall(config)}

    assert nginx_routes == virtual_service_routes()
    prefixes = {prefix for app_prefixes in ROUTES.values() for prefix in app_prefixes}
    assert {path for _, path, _ in nginx_routes} >= prefixes
    for app, address in upstreams.items():
        assert f"upstream {app} {{ server {address};" in config


def test_the_proxy_answers_only_the_routed_prefixes(split_deployment):
    base_url = split_deployment.base_url
    for path in ("/healthz", "/admin/", "/api/schema/", "/api/v1/productsx", "/api/v2/products"):
        response = requests.get(f"{base_url}{path}", timeout=10)
        assert_problem(response, 404, "not_found")
        assert "X-Frame-Options" not in response.headers  # nginx's answer: no Django behind it
    # Each app answers its own prefix, and only there (a wrong upstream would be a 404).
    assert_problem(requests.get(f"{base_url}/api/v1/users/me", timeout=10), 401, "not_authenticated")
    assert requests.get(f"{base_url}/api/v1/products", timeout=10).status_code == 200
    assert requests.get(f"{base_url}/api/v1/inventory/{uuid.uuid4()}", timeout=10).json()["available"] == 0
    assert_problem(requests.get(f"{base_url}/api/v1/payments", timeout=10), 401, "not_authenticated")


def sandbox_charges(deployment) -> int:
    """The sandbox provider's own ledger, read as its operator would."""
    with psycopg.connect(deployment.topology.database_url("payments", "payments")) as connection:
        return connection.execute("SELECT count(*) FROM payments_sandboxcharge").fetchone()[0]


@pytest.mark.parametrize("dependency", ["inventory", "products"])
def test_a_dead_dependency_fails_purchases_fast_charges_nothing_and_heals(split_deployment, dependency):
    topology = split_deployment.topology
    anonymous = Api(split_deployment.base_url)
    staff = anonymous.signed_in(split_deployment.staff_email, split_deployment.staff_password)
    shopper = anonymous.signed_in(anonymous.register())
    product = staff.post("/products", {"sku": f"DRILL-{uuid.uuid4().hex[:8]}", "name": "Drill bit",
                                       "price": "4.00", "status": "active"}).json()
    assert staff.post(f"/inventory/{product['id']}/adjustments", {"delta": 3, "reason": "received"}) \
        .status_code == 201
    charges = sandbox_charges(split_deployment)
    key = f"drill-{uuid.uuid4()}"

    topology.kill_servers(dependency)
    try:
        started = time.monotonic()
        failed = shopper.purchase([(product["id"], 1)], key=key)
        elapsed = time.monotonic() - started
        assert_problem(failed, 503, "service_unavailable")
        # The gRPC deadline (GRPC_DEADLINE_SECONDS, 2 s) bounds it, far below the proxy's 15 s.
        assert elapsed < 8, elapsed
        assert sandbox_charges(split_deployment) == charges
        payments = staff.get("/payments", params={"user_id": shopper.get("/users/me").json()["id"]}).json()
        assert {item["status"] for item in payments["results"]} <= {"failed"}
        # The proxy answers for the dead service itself, in the API's shape.
        assert_problem(anonymous.get(f"/{dependency}/{product['id']}"), 503, "service_unavailable")
    finally:
        topology.start_servers(dependency)

    # The key was not spent on the failure: once the service is back, the same key buys.
    def purchase_succeeds():
        response = shopper.purchase([(product["id"], 1)], key=key)
        return response if response.status_code == 201 else None

    healed = wait_until(purchase_succeeds, f"purchases to succeed again after {dependency} restarted")
    assert "Idempotent-Replayed" not in healed.headers
    assert sandbox_charges(split_deployment) == charges + 1
