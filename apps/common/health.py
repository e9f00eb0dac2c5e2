"""Liveness and readiness. /healthz is cheap; /readyz asks every dependency this process uses:
its databases, Redis, the Kafka broker where it relays an outbox, and the standard gRPC health
service of every app it calls remotely. `grpcserve` reports the same readiness on gRPC health."""

from concurrent.futures import ThreadPoolExecutor
from importlib import import_module

import grpc
from django.conf import settings
from django.core.cache import cache
from django.db import connections
from django.http import JsonResponse
from grpc_health.v1 import health_pb2, health_pb2_grpc

from apps.common import kafka
from apps.common.relay import publishing_apps
from config.routes import GRPC_CALLERS
from config.service_apps import served_apps

CHECK_TIMEOUT_SECONDS = 3


def healthz(request):
    return JsonResponse({"status": "ok", "service": settings.SERVICE_NAME})


def readyz(request):
    results = run_checks()
    failing = sorted(name for name, error in results.items() if error)
    body = {
        "status": "ok" if not failing else "unavailable",
        "service": settings.SERVICE_NAME,
        "checks": {name: error or "ok" for name, error in results.items()},
        "failing": failing,
    }
    return JsonResponse(body, status=503 if failing else 200)


def readiness_checks() -> dict:
    checks = {f"database:{alias}": _database_check(alias) for alias in settings.DATABASES}
    if settings.REDIS_URL:
        checks["redis"] = _redis_check
    if settings.KAFKA_BOOTSTRAP_SERVERS and publishing_apps():
        # This process relays its apps' outboxes (nudge after commit), so it needs the broker.
        checks["kafka"] = _kafka_check
    for app in remote_dependencies():
        checks[f"grpc:{app}"] = _grpc_check(app)
    return checks


def remote_dependencies() -> list[str]:
    """The apps this process calls over gRPC: not served here, called by an app served here."""
    served = served_apps()
    return [app for app, callers in GRPC_CALLERS.items()
            if app not in served and any(caller in served for caller in callers)]


def run_checks() -> dict[str, str | None]:
    """Run every check in parallel with a timeout; map name -> error text or None."""
    checks = readiness_checks()
    with ThreadPoolExecutor(max_workers=len(checks)) as pool:
        futures = {name: pool.submit(_guarded, check) for name, check in checks.items()}
        results = {}
        for name, future in futures.items():
            try:
                results[name] = future.result(timeout=CHECK_TIMEOUT_SECONDS)
            except TimeoutError:
                results[name] = "timed out"
    return results


def _guarded(check) -> str | None:
    try:
        check()
    except Exception as exc:  # any failure of a dependency means "not ready", with its reason
        return f"{type(exc).__name__}: {exc}".strip()[:200]
    return None


def _database_check(alias):
    def check():
        try:
            with connections[alias].cursor() as cursor:
                cursor.execute("SELECT 1")
        finally:
            connections[alias].close()  # this worker thread's connection must not leak

    return check


def _kafka_check():
    kafka.check_broker(timeout=CHECK_TIMEOUT_SECONDS - 1)


def _redis_check():
    cache.client.get_client(write=True).ping()


def _grpc_check(app: str):
    def check():
        target = settings.GRPC_TARGETS.get(app)
        if not target:
            raise RuntimeError(f"{app.upper()}_GRPC_TARGET is not set")
        service = import_module(f"grpc_api.clients.{app}").Client.service.full_name
        with grpc.insecure_channel(target) as channel:
            answer = health_pb2_grpc.HealthStub(channel).Check(
                health_pb2.HealthCheckRequest(service=service), timeout=CHECK_TIMEOUT_SECONDS - 1,
            )
        if answer.status != health_pb2.HealthCheckResponse.SERVING:
            status = health_pb2.HealthCheckResponse.ServingStatus.Name(answer.status)
            raise RuntimeError(f"{service} at {target} is {status}")

    return check
