"""Liveness and readiness, without cascades.

Liveness (`/healthz`, and the gRPC health service named `liveness`) answers from the process
alone: nothing outside it is asked, so a peer's or a database's outage never restarts a pod.

Readiness (`/readyz`, and the gRPC health of the whole server "" and of each service it serves)
follows only this process's own hard dependencies: its databases and Redis. Kafka (the outbox
buffers events while it is away) and the gRPC servers of the apps it calls are asked too and
reported in `/readyz`'s body, but never fail it: one service's outage must not take the others
out of the mesh.

`manage.py check_services` runs every check, plus Kafka wherever it is configured, and prints
them as a table.
"""

import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor, wait
from dataclasses import dataclass
from urllib.parse import urlsplit

import grpc
from django.conf import settings
from django.core.cache import cache
from django.db import connections
from django.http import JsonResponse
from grpc_health.v1 import health_pb2, health_pb2_grpc

from apps.common.events import kafka
from apps.common.events.relay import publishing_apps
from config.routes import GRPC_CALLERS
from config.service_apps import DOMAIN_APPS, is_served, served_apps

CHECK_TIMEOUT_SECONDS = 3
# The gRPC health service name that reports liveness: SERVING while the process answers.
GRPC_LIVENESS_SERVICE = "liveness"


@dataclass(frozen=True)
class Check:
    target: str  # what it reaches, for people: host, port, database; never a credential
    run: Callable[[], None]  # raises when the dependency does not answer


@dataclass(frozen=True)
class Result:
    target: str
    error: str | None
    seconds: float


def healthz(request):
    return JsonResponse({"status": "ok", "service": settings.SERVICE_NAME})


def readyz(request):
    hard = readiness_checks()
    results = run_checks({**hard, **reported_checks()})
    failing = sorted(name for name in hard if results[name].error)
    body = {
        "status": "ok" if not failing else "unavailable",
        "service": settings.SERVICE_NAME,
        "checks": {name: result.error or "ok" for name, result in results.items()},
        "failing": failing,
        # Reported, not gating: the outbox holds events for Kafka; calls to a peer fail fast (503).
        "degraded": sorted(name for name in results if name not in hard and results[name].error),
    }
    return JsonResponse(body, status=503 if failing else 200)


def readiness_checks() -> dict[str, Check]:
    """What this process cannot serve anything without: its databases and Redis."""
    checks = {
        f"database:{alias}": Check(_database_target(alias), _database_check(alias))
        for alias in settings.DATABASES
    }
    if settings.REDIS_URL:
        checks["redis"] = Check(_url_target(settings.REDIS_URL), _redis_check)
    return checks


def reported_checks() -> dict[str, Check]:
    """Dependencies `/readyz` reports without failing: Kafka where this process relays an outbox,
    the gRPC servers of the apps it calls."""
    checks = {}
    if settings.KAFKA_BOOTSTRAP_SERVERS and publishing_apps():
        checks["kafka"] = _kafka_check()
    for app in called_apps():
        target = settings.GRPC_TARGETS[app]
        checks[f"grpc:{app}"] = Check(target or "not configured", _grpc_check(app, target))
    return checks


def dependency_checks() -> dict[str, Check]:
    """Every dependency, plus Kafka wherever it is configured (workers consume from it)."""
    checks = {**readiness_checks(), **reported_checks()}
    if settings.KAFKA_BOOTSTRAP_SERVERS:
        checks.setdefault("kafka", _kafka_check())
    return checks


def called_apps() -> list[str]:
    """Apps served elsewhere that an app served here calls (config.routes.GRPC_CALLERS)."""
    return [app for app in DOMAIN_APPS
            if not is_served(app) and set(GRPC_CALLERS[app]) & set(served_apps())]


def run_checks(checks: dict[str, Check]) -> dict[str, Result]:
    """Run every check in parallel; one that has not answered within CHECK_TIMEOUT_SECONDS is
    "timed out" (its thread is left to finish on its own: the answer does not wait for it)."""
    pool = ThreadPoolExecutor(max_workers=len(checks), thread_name_prefix="check")
    futures = {name: pool.submit(_timed, check) for name, check in checks.items()}
    wait(futures.values(), timeout=CHECK_TIMEOUT_SECONDS)
    pool.shutdown(wait=False)
    results = {}
    for name, future in futures.items():
        error, seconds = future.result() if future.done() else ("timed out", CHECK_TIMEOUT_SECONDS)
        results[name] = Result(checks[name].target, error, seconds)
    return results


def _timed(check: Check) -> tuple[str | None, float]:
    started = time.perf_counter()
    try:
        check.run()
    except Exception as exc:  # any failure of a dependency means "not ready", with its reason
        error = f"{type(exc).__name__}: {exc}".strip()[:200]
    else:
        error = None
    return error, time.perf_counter() - started


def _database_target(alias: str) -> str:
    db = settings.DATABASES[alias]
    if db["ENGINE"].endswith("sqlite3"):
        return str(db["NAME"])
    return f"{db['HOST']}:{db['PORT']}/{db['NAME']}"


def _url_target(url: str) -> str:
    parts = urlsplit(url)
    port = f":{parts.port}" if parts.port else ""
    return f"{parts.scheme}://{parts.hostname}{port}{parts.path}"


def _database_check(alias):
    def check():
        try:
            with connections[alias].cursor() as cursor:
                cursor.execute("SELECT 1")
        finally:
            connections[alias].close()  # this worker thread's connection must not leak

    return check


def _kafka_check() -> Check:
    return Check(settings.KAFKA_BOOTSTRAP_SERVERS,
                 lambda: kafka.check_broker(timeout=CHECK_TIMEOUT_SECONDS - 1))


def _redis_check():
    cache.client.get_client(write=True).ping()


def _grpc_check(app: str, target: str | None):
    def check():
        if not target:
            raise LookupError(f"{app.upper()}_GRPC_TARGET is not set")
        # The standard health service answers without a service token; "" is the whole server,
        # which reports that peer's own readiness (not its peers': no chain).
        with grpc.insecure_channel(target) as channel:
            response = health_pb2_grpc.HealthStub(channel).Check(
                health_pb2.HealthCheckRequest(service=""), timeout=CHECK_TIMEOUT_SECONDS - 1,
            )
        if response.status != health_pb2.HealthCheckResponse.SERVING:
            raise RuntimeError(health_pb2.HealthCheckResponse.ServingStatus.Name(response.status))

    return check
