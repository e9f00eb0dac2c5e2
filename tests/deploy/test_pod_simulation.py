"""Run every container of every Deployment and Job the chart renders, as kubelet would, and look
at it as kubelet and Prometheus do (tests/support/pods.py says how a pod runs here).

One mode at a time, the chart rendered with small process counts (two gunicorn workers and two
Celery children where the aggregation of several processes' metrics is the point), free ports and
topics for a single broker;
the Secrets of `envFrom` point at this run's PostgreSQL databases, a Redis database per component
(as the chart's values ask) and a Kafka broker of its own (the last test kills it).
"""

import os
import time
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from itertools import pairwise

import pytest
import requests
from django.conf import settings

from config.routes import app_for_path
from tests.deploy.tools import render_chart
from tests.support.kafka import KafkaBroker
from tests.support.pods import Cluster, counters
from tests.support.polling import wait_until
from tests.support.processes import ARTIFACTS, free_port
from tests.support.split import Topology
from tests.support.users import access_token

PUBLIC_HOST = "shop.example.com"  # the chart's default `hosts`
REDIS_DATABASES = {"monolith": 10, "users": 10, "products": 11, "inventory": 12, "payments": 13}
VALUES = {
    "monolith": {"web": {"gunicorn": {"workers": 2, "threads": 2}}, "worker": {"concurrency": 2}},
    # Four components: one process per role, except payments' web (the purchase path) with two.
    "split": {"web": {"gunicorn": {"workers": 1, "threads": 2}}, "worker": {"concurrency": 1},
              "overrides": {"payments": {"web": {"gunicorn": {"workers": 2}}}}},
}
# What must be on which scrape after a purchase: (pod, port name) -> sample names with labels.
FAMILIES = {
    "monolith": {
        ("shop-monolith", "http"): [("django_http_responses_total_by_status_view_method_total", {}),
                                    ("shop_purchases_total", {"outcome": "completed"})],
        ("shop-monolith-worker", "metrics"): [
            ("shop_events_relayed_total", {"app": "inventory", "outcome": "published"}),
            ("shop_events_relayed_total", {"app": "payments", "outcome": "published"}),
            ("shop_events_consumed_total", {"app": "products", "outcome": "processed"}),
            ("shop_events_consumed_total", {"app": "inventory", "outcome": "processed"}),
        ],
    },
    "split": {
        ("shop-payments", "http"): [("django_http_responses_total_by_status_view_method_total", {}),
                                    ("shop_purchases_total", {"outcome": "completed"})],
        ("shop-products", "metrics"): [("shop_grpc_server_requests_total", {"code": "OK"})],
        ("shop-inventory", "metrics"): [("shop_grpc_server_requests_total", {"code": "OK"})],
        ("shop-inventory-worker", "metrics"): [
            ("shop_events_relayed_total", {"app": "inventory", "outcome": "published"}),
            ("shop_events_consumed_total", {"app": "inventory", "outcome": "processed"}),
        ],
        ("shop-payments-worker", "metrics"): [
            ("shop_events_relayed_total", {"app": "payments", "outcome": "published"})],
        ("shop-products-worker", "metrics"): [
            ("shop_events_consumed_total", {"app": "products", "outcome": "processed"})],
    },
}
PROBES = ("startupProbe", "livenessProbe", "readinessProbe")
# The test's broker is a single node: topics as it can hold them (the chart's values say 3/2 for MSK).
SINGLE_BROKER = {"kafka": {"replicationFactor": 1, "minInsyncReplicas": 1}}


def _secrets(topology: Topology) -> dict[str, dict[str, str]]:
    """The Secrets the chart expects to exist, on this run's services."""
    shared = {"JWT_SIGNING_KEY": settings.JWT_KEYS.signing_pem, "DJANGO_SECRET_KEY": settings.SECRET_KEY,
              "SERVICE_AUTH_SECRET": settings.SERVICE_AUTH_SECRET}
    secrets = {"shop-shared": shared}
    for component, apps in topology.groups.items():
        redis = f"redis://127.0.0.1:6379/{REDIS_DATABASES[component]}"
        secrets[f"shop-{component}-env"] = {
            "DATABASE_URL": topology.database_url(component, "default"),
            **{f"DATABASE_URL_{app.upper()}": topology.database_url(component, app) for app in apps},
            "REDIS_URL": redis, "CELERY_BROKER_URL": redis,
            # Redis is shared with other test runs: a queue of this run's own.
            "CELERY_TASK_DEFAULT_QUEUE": f"{topology.database_prefix}-{component}",
            "KAFKA_BOOTSTRAP_SERVERS": topology.kafka.bootstrap_servers,
        }
    return secrets


@dataclass
class Simulation:
    mode: str
    cluster: Cluster
    kafka: KafkaBroker


def _for_each(function, pods) -> list:
    """`function(pod)` for every pod at once, as kubelet acts on pods; the results in order."""
    with ThreadPoolExecutor(max_workers=len(pods)) as pool:
        return list(pool.map(function, pods))


@pytest.fixture(scope="module", params=["monolith", "split"])
def simulation(request):
    mode = request.param
    ports = {"http": free_port(), "grpc": free_port(), "metrics": free_port()}
    documents = render_chart(mode, {**VALUES[mode], **SINGLE_BROKER, "ports": ports})
    default = settings.DATABASES["default"]
    log_dir = ARTIFACTS / f"pod-simulation-{mode}"
    topology = Topology(mode, database_prefix=f"podsim_{os.environ.get('TEST_DB_SUFFIX', 'x')}",
                        postgres_url=f"postgres://{default['USER']}@{default['HOST']}:{default['PORT']}",
                        redis_url="", secrets={}, log_dir=log_dir)
    cluster = Cluster(documents, _secrets(topology), log_dir)
    try:
        topology.create_databases(recreate=True)
        topology.kafka.start(log_dir=log_dir)
        # Helm's pre-install hooks: every migration Job completes before the Deployments start.
        jobs = [pod for pod in cluster.pods.values() if pod.kind == "Job"]
        codes = _for_each(lambda pod: cluster.run_job(pod, timeout=300), jobs)
        for pod, code in zip(jobs, codes, strict=True):
            assert code == 0, f"{pod.name} failed:\n{next(iter(pod.containers.values())).log()[-3000:]}"
        deployments = [pod for pod in cluster.pods.values() if pod.kind == "Deployment"]
        for pod in deployments:
            cluster.start(pod)
        _for_each(lambda pod: _wait_until_started_and_ready(cluster, pod), deployments)
        yield Simulation(mode, cluster, topology.kafka)
    finally:
        _for_each(cluster.stop, list(cluster.pods.values()))
        topology.kafka.stop()
        topology.drop_databases()


def _wait_until_started_and_ready(cluster: Cluster, pod):
    for container in pod.containers.values():
        if "startupProbe" in container.spec:
            cluster.wait_for_probe(pod, container, "startupProbe")
        if "readinessProbe" in container.spec:
            cluster.wait_for_probe(pod, container, "readinessProbe", budget=120)
        elif "livenessProbe" in container.spec:
            cluster.wait_for_probe(pod, container, "livenessProbe")


def _probes(cluster: Cluster) -> dict[tuple[str, str, str], str | None]:
    """(pod, container, probe) -> kubelet's verdict, every probe of every running pod at once."""
    running = [pod for pod in cluster.pods.values() if pod.kind == "Deployment" and pod.running()]
    probes = [(pod, container, kind) for pod in running
              for container in pod.containers.values() for kind in PROBES if kind in container.spec]
    verdicts = _for_each(lambda probe: cluster.verdict(*probe), probes)
    return {(pod.name, container.name, kind): verdict
            for (pod, container, kind), verdict in zip(probes, verdicts, strict=True)}


def _call(simulation: Simulation, method: str, path: str, token: str, **kwargs) -> requests.Response:
    """An API request as the gateway forwards it: to the serving pod, with the public Host."""
    component = "monolith" if simulation.mode == "monolith" else app_for_path(path)
    pod = simulation.cluster.pods[f"shop-{component}"]
    port = pod.containers["http"].port("http")
    headers = {"Host": PUBLIC_HOST, "Authorization": f"Bearer {token}", **kwargs.pop("headers", {})}
    return requests.request(method, f"http://{pod.ip}:{port}{path}", headers=headers, timeout=30, **kwargs)


def _purchase(simulation: Simulation) -> None:
    """Stock received and a product sold: events relayed by inventory and payments, consumed by
    products and inventory, gRPC calls from payments in split mode."""
    staff = access_token(is_staff=True)
    product = _call(simulation, "POST", "/api/v1/products", staff,
                    json={"sku": f"SIM-{uuid.uuid4().hex[:8]}", "name": "Simulated", "price": "12.50"})
    assert product.status_code == 201, product.text
    product_id = product.json()["id"]
    stock = _call(simulation, "POST", f"/api/v1/inventory/{product_id}/adjustments", staff,
                  json={"delta": 5, "reason": "received"})
    assert stock.status_code == 201, stock.text
    payment = _call(simulation, "POST", "/api/v1/payments", access_token(),
                    headers={"Idempotency-Key": uuid.uuid4().hex},
                    json={"items": [{"product_id": product_id, "quantity": 1}],
                          "payment_method": {"token": "tok_visa"}})
    assert payment.status_code == 201, payment.text


def _has(samples: dict, name: str, labels: dict) -> bool:
    return any(key[0] == name and labels.items() <= dict(key[1]).items() and value > 0
               for key, value in samples.items())


def test_every_job_completes_and_every_container_passes_each_probe_as_declared(simulation):
    cluster = simulation.cluster
    assert all(pod.running() for pod in cluster.pods.values() if pod.kind == "Deployment")
    results = _probes(cluster)
    assert results and not {key: failure for key, failure in results.items() if failure}
    kinds = {kind for _pod, _container, kind in results}
    assert kinds == set(PROBES)


def test_scrapes_find_http_relay_consumer_families_and_no_counter_ever_goes_backwards(simulation):
    cluster = simulation.cluster
    targets = cluster.scrape_targets()
    by_target = {(pod.name, container.name, port): [] for pod, container, port, _path in targets}
    expected = FAMILIES[simulation.mode]
    named = {(pod.name, name) for pod, container, port, _path in targets
             for name in (p["name"] for p in container.spec["ports"] if p["containerPort"] == port)}
    assert set(expected) <= named  # every family is looked for where a ServiceMonitor scrapes

    def scrape_all():
        for pod, container, port, path in targets:
            by_target[pod.name, container.name, port].append(counters(cluster.scrape(pod, port, path)))

    scrape_all()
    _purchase(simulation)

    missing = []

    def families_present():
        scrape_all()
        missing[:] = [
            (pod_name, port_name, name, labels)
            for pod_name, port_name in expected
            for pod, container, port, _path in targets
            if pod.name == pod_name and any(p["name"] == port_name and p["containerPort"] == port
                                            for p in container.spec["ports"])
            for name, labels in expected[pod_name, port_name]
            if not _has(by_target[pod_name, container.name, port][-1], name, labels)
        ]
        return not missing

    wait_until(families_present, lambda: f"missing {missing}", timeout=120, interval=2)
    # Scrapes land on any of gunicorn's workers: a few more with traffic in between.
    for _ in range(4):
        _purchase(simulation)
        scrape_all()
    backwards = {
        target: [(key, earlier[key], later[key]) for earlier, later in pairwise(scrapes)
                 for key in earlier if key in later and later[key] < earlier[key]]
        for target, scrapes in by_target.items()
    }
    assert not {target: found for target, found in backwards.items() if found}
    assert min(len(scrapes) for scrapes in by_target.values()) >= 6


@pytest.fixture(scope="module")
def outage(simulation):
    """Kill the peer every other app calls (split mode) and then the Kafka broker, as a node
    failure would; probe every container while each is down (after gRPC health's refresh)."""
    cluster = simulation.cluster
    results = {}
    if simulation.mode == "split":
        cluster.kill(cluster.pods["shop-users"])
        results["peer"] = _probes_after_notice(cluster)
    simulation.kafka.kill()
    results["kafka"] = _probes_after_notice(cluster)
    return results


def _probes_after_notice(cluster: Cluster) -> dict:
    """The running pods' probes once their processes have noticed (gRPC health refreshes every 5 s)."""
    time.sleep(7)
    return _probes(cluster)


def test_liveness_over_http_and_exec_stays_green_when_a_peer_and_kafka_die(outage):
    for _what, results in outage.items():
        failing = {key: failure for key, failure in results.items()
                   if key[2] == "livenessProbe" and key[1] != "grpc" and failure}
        assert not failing


def test_grpc_liveness_and_readiness_stay_green_when_a_peer_and_kafka_die(outage):
    for _what, results in outage.items():
        assert not {key: failure for key, failure in results.items() if failure}
