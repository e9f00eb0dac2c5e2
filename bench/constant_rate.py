"""Open-loop load at a constant arrival rate, for latency at a given rate (wrk measures the
ceiling: it sends the next request only once one is answered).

Request `n` is due at `start + n / rate`, whether or not earlier ones were answered; its latency
runs from when it was due, so a server that falls behind shows it in the percentiles instead of
slowing the load (no coordinated omission). Up to `max_in_flight` requests are outstanding; a
request due while all are busy waits, and that wait counts in its latency.
"""

import json
import threading
import time
import uuid
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor

import requests

# (method, path, headers, body) of the nth request.
Request = Callable[[int], tuple[str, str, dict, str | None]]


def run(base_url: str, request: Request, rate: float, duration: float, max_in_flight: int = 64) -> dict:
    """Send `rate * duration` requests at `rate` per second; the figures `bench/run.py` prints."""
    total = int(rate * duration)
    local = threading.local()
    latencies: list[float] = []
    statuses: list[int | None] = []  # None: no answer (appends are atomic; counters are not)
    start = time.monotonic() + 0.2  # every thread up before the first is due

    def send(n: int):
        due = start + n / rate
        if (wait := due - time.monotonic()) > 0:
            time.sleep(wait)
        if not hasattr(local, "session"):
            local.session = requests.Session()
        method, path, headers, body = request(n)
        try:
            response = local.session.request(method, base_url + path, headers=headers, data=body, timeout=10)
        except requests.RequestException:
            statuses.append(None)
            return
        latencies.append(time.monotonic() - due)
        statuses.append(response.status_code)

    with ThreadPoolExecutor(max_workers=max_in_flight) as pool:
        list(pool.map(send, range(total)))
    elapsed = time.monotonic() - start
    return {"requests": total, "target_rate": rate, "requests_per_second": round(total / elapsed, 1),
            **latency_percentiles(latencies),
            "non_2xx": sum(1 for status in statuses if status is not None and status >= 400),
            "socket_errors": statuses.count(None)}


def latency_percentiles(seconds: list[float]) -> dict:
    """p50, p95 and p99 of latencies in `seconds`, in milliseconds (0 when there are none)."""
    ordered = sorted(seconds)

    def percentile(p: float) -> float:
        if not ordered:
            return 0.0
        return round(ordered[min(len(ordered) - 1, int(len(ordered) * p / 100))] * 1000, 2)

    return {"p50_ms": percentile(50), "p95_ms": percentile(95), "p99_ms": percentile(99)}


def purchases(product_ids: list[str], authorization: str) -> Request:
    """POST /payments: one unit of one of `product_ids` in turn, each with a fresh Idempotency-Key."""
    def request(n: int):
        body = json.dumps({"items": [{"product_id": product_ids[n % len(product_ids)], "quantity": 1}],
                           "payment_method": {"token": "tok_visa"}})
        headers = {"Authorization": authorization, "Content-Type": "application/json",
                   "Idempotency-Key": str(uuid.uuid4())}
        return "POST", "/api/v1/payments", headers, body

    return request
