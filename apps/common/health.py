"""Liveness and readiness. /healthz is cheap; /readyz asks every dependency this process uses."""

from concurrent.futures import ThreadPoolExecutor

from django.conf import settings
from django.core.cache import cache
from django.db import connections
from django.http import JsonResponse

from apps.common import kafka
from apps.common.relay import publishing_apps

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
    return checks


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
