"""Prometheus metrics: HTTP requests (`HttpMetricsMiddleware`), business counters updated where
things happen, and gauges read from the databases at scrape time (`DatabaseGauges`); the database
and cache ones come from django-prometheus' backends. The list and the multiprocess setup:
docs/observability.md.
"""

import logging
import os
import time
from collections.abc import Callable
from dataclasses import dataclass

import prometheus_client
from django.db import DatabaseError, connections
from django.http import HttpResponse
from django_prometheus.conf import PROMETHEUS_LATENCY_BUCKETS
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, multiprocess
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

from config.service_apps import served_apps
from config.structured_logs import HTTP_METHODS

logger = logging.getLogger(__name__)

DEFAULT_EXPORTER_PORT = 9100
DEFAULT_EXPORTER_ADDRESS = "127.0.0.1"
LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0)

# --- HTTP ----------------------------------------------------------------------------------------
# django-prometheus' names (the dashboard and alerts query them), but only these two of its 16.
HTTP_RESPONSES = Counter(
    "django_http_responses_total_by_status_view_method", "Count of responses by status, view, method.",
    ["status", "view", "method"],
)
HTTP_LATENCY = Histogram(
    "django_http_requests_latency_seconds_by_view_method",
    "Histogram of request processing time labelled by view.", ["view", "method"],
    buckets=PROMETHEUS_LATENCY_BUCKETS,
)


class HttpMetricsMiddleware:
    """Count each response and its latency: three sample writes per request.

    Replaces django-prometheus' two middleware, whose 16 families cost 15 or 16 writes per request
    (each a lock and, in multiprocess mode, a `getpid` and a memory-mapped file write) for numbers
    these two already give: requests by method or view are sums over them.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        started = time.perf_counter()
        response = self.get_response(request)
        match = request.resolver_match
        view = (match.view_name if match is not None else None) or "<unnamed view>"
        method = request.method if request.method in HTTP_METHODS else "<invalid method>"
        HTTP_RESPONSES.labels(str(response.status_code), view, method).inc()
        HTTP_LATENCY.labels(view, method).observe(time.perf_counter() - started)
        return response


# --- Business ----------------------------------------------------------------------------------
PURCHASES = Counter(
    "shop_purchases_total", "Purchases by outcome (completed, declined, insufficient_stock, ...).",
    ["outcome"],
)
REFUNDS = Counter("shop_refunds_total", "Refunds issued.")
RESERVATIONS_EXPIRED = Counter("shop_reservations_expired_total", "Stock reservations released on expiry.")
AMOUNT_SOLD = Counter("shop_amount_sold_total", "Money taken by completed purchases.", ["currency"])
REFRESH_TOKEN_REUSE = Counter(
    "shop_refresh_token_reuse_total",
    "Revoked refresh tokens presented again (theft or a replayed request); each revoked its family.",
)
# Reconciliation of payments against inventory (apps/payments/reconciliation.py), by kind:
# sale_missing, reservation_held, refund_missing.
RECONCILIATION_KINDS = ("sale_missing", "reservation_held", "refund_missing")
SALES_RECONCILIATION_FOUND = Counter(
    "shop_sales_reconciliation_found_total",
    "Payments whose effect inventory had not applied when reconciled, by kind.", ["kind"],
)
SALES_RECONCILIATION_REPAIRED = Counter(
    "shop_sales_reconciliation_repaired_total",
    "Payments whose original event reconciliation published again, by kind.", ["kind"],
)
SALES_UNRECONCILED = Gauge(
    "shop_sales_unreconciled",
    "Payments the latest reconciliation found without their effect in inventory (each re-sent "
    "then); above 0 run after run means the repair does not take.",
    multiprocess_mode="mostrecent",  # one Celery pool process runs each reconciliation
)
for _kind in RECONCILIATION_KINDS:  # label sets exist at 0, so increase() sees the first one
    SALES_RECONCILIATION_FOUND.labels(kind=_kind)
    SALES_RECONCILIATION_REPAIRED.labels(kind=_kind)

# --- Events: Kafka consumers --------------------------------------------------------------------
CONSUMER_OUTCOMES = ("processed", "retried", "dead_lettered")
EVENTS_CONSUMED = Counter(
    "shop_events_consumed_total",
    "Events a consumer finished with, by outcome: processed, retried or dead_lettered.",
    ["topic", "app", "outcome"],
)
CONSUMER_OFFSET_COMMITS = Counter(
    "shop_consumer_offset_commits_total",
    "Offset commits a consumer made (`make bench` counts them per event).", ["app"],
)
CONSUMER_LAG = Gauge(
    "shop_consumer_lag", "Messages between a consumer group's committed offset and the partition's end.",
    ["topic", "partition", "app"],
    multiprocess_mode="livemostrecent",  # one live consumer owns a partition at a time
)

# --- Events: the outbox relay ------------------------------------------------------------------
RELAY_OUTCOMES = ("published", "failed")
EVENTS_RELAYED = Counter(
    "shop_events_relayed_total",
    "Outbox events the relay delivered (published) or tried and left unsent (failed).",
    ["app", "outcome"],
)
RELAY_BATCH_SIZE = Histogram(
    "shop_outbox_relay_batch_size",
    "Rows one relay pass claimed and produced with a single flush (its count: the flushes).",
    ["app"], buckets=(1, 10, 50, 100, 250, 500, 1000),
)


# --- gRPC ----------------------------------------------------------------------------------------
GRPC_SERVER_REQUESTS = Counter(
    "shop_grpc_server_requests_total", "RPCs served, by status code.", ["service", "method", "code"],
)
GRPC_SERVER_LATENCY = Histogram(
    "shop_grpc_server_latency_seconds", "Time to serve an RPC.", ["service", "method"],
    buckets=LATENCY_BUCKETS,
)
GRPC_CLIENT_REQUESTS = Counter(
    "shop_grpc_client_requests_total", "RPCs made to other services, by status code.",
    ["service", "method", "code"],
)
GRPC_CLIENT_LATENCY = Histogram(
    "shop_grpc_client_latency_seconds", "Time until another service answered an RPC.",
    ["service", "method"], buckets=LATENCY_BUCKETS,
)


# --- Gauges read at scrape time --------------------------------------------------------------------
@dataclass
class AppGauge:
    """A number an app computes from its own database when Prometheus scrapes.

    The app sets `measure` (a cheap query) at start-up, in its AppConfig.ready(); the gauge is
    exported only by processes that serve the app, and only once `measure` is set.
    """

    name: str
    documentation: str
    app: str
    measure: Callable[[], float] | None = None


ACTIVE_RESERVATIONS = AppGauge("shop_active_reservations", "Stock reservations now active.", "inventory")
LOW_STOCK_PRODUCTS = AppGauge(
    "shop_low_stock_products", "Products whose available stock is at or below the low-stock level.",
    "inventory",
)
APP_GAUGES = (ACTIVE_RESERVATIONS, LOW_STOCK_PRODUCTS)
# (unsent events, seconds since the oldest of them was committed) of each publishing app's outbox,
# read at scrape time: given at start-up by the events package, which owns the outbox
# (`apps.common.events.monitoring`).
OUTBOX_STATE: dict[str, Callable[[], tuple[int, float]]] = {}


class DatabaseGauges(Collector):
    """The outbox backlog and age, and every measured AppGauge, for the apps served here.

    `close_connections` for scrapes served outside Django's request cycle (the exporter runs
    each scrape in a new thread, whose connections nothing else would close).
    """

    def __init__(self, close_connections: bool = False):
        self.close_connections = close_connections

    def collect(self):
        served = served_apps()
        backlog = GaugeMetricFamily(
            "shop_outbox_backlog", "Outbox events committed but not yet relayed.", labels=["app"],
        )
        oldest = GaugeMetricFamily(
            "shop_outbox_oldest_unsent_age_seconds",
            "Age of the oldest outbox event not yet relayed (0 when none).", labels=["app"],
        )
        families = [backlog, oldest]
        try:
            for app, measure in OUTBOX_STATE.items():
                if app in served and (state := _read(app, measure)) is not None:
                    backlog.add_metric([app], state[0])
                    oldest.add_metric([app], state[1])
            for gauge in APP_GAUGES:
                if gauge.app in served and gauge.measure is not None:
                    value = _read(gauge.app, gauge.measure)
                    if value is not None:
                        families.append(GaugeMetricFamily(gauge.name, gauge.documentation, value=value))
        finally:
            if self.close_connections:
                for app in served:
                    connections[app].close()
        return families


def _read(app: str, query, *args):
    """A database that does not answer leaves its gauges out; the rest of the scrape goes on."""
    try:
        return query(*args)
    except DatabaseError as exc:
        logger.warning("metrics: %s's database did not answer: %s", app, exc)
        return None


class _ProcessRegistry(Collector):
    """This process's own metrics (the default registry), when no multiprocess dir is in use."""

    def collect(self):
        return prometheus_client.REGISTRY.collect()


def scrape_registry(close_connections: bool = False) -> CollectorRegistry:
    """What a scrape of this process exports: its (or all its workers') metrics plus the
    database gauges."""
    registry = CollectorRegistry()
    if multiprocess_dir():
        multiprocess.MultiProcessCollector(registry)
    else:
        registry.register(_ProcessRegistry())
    registry.register(DatabaseGauges(close_connections))
    return registry


def multiprocess_dir() -> str | None:
    return os.environ.get("PROMETHEUS_MULTIPROC_DIR") or None


def metrics_view(request):
    """`/metrics` of HTTP processes."""
    body = prometheus_client.generate_latest(scrape_registry())
    return HttpResponse(body, content_type=prometheus_client.CONTENT_TYPE_LATEST)


def start_exporter(port: int | None = None) -> int | None:
    """Serve this process's metrics on `port` (default `METRICS_PORT`, else 9100) of
    `METRICS_ADDRESS` (default loopback; the chart sets the pod IP) from a thread.

    For processes without HTTP (`grpcserve`, the Celery worker). A port already taken is
    logged, not fatal: metrics must never stop the work. Returns the port served, or None.
    """
    if port is None:
        port = int(os.environ.get("METRICS_PORT") or DEFAULT_EXPORTER_PORT)
    address = os.environ.get("METRICS_ADDRESS") or DEFAULT_EXPORTER_ADDRESS
    try:
        prometheus_client.start_http_server(port, addr=address,
                                            registry=scrape_registry(close_connections=True))
    except OSError as exc:
        logger.warning("metrics exporter not started on %s port %s: %s", address, port, exc)
        return None
    logger.info("metrics exporter serving on %s port %s", address, port)
    return port


def mark_process_dead(pid: int) -> None:
    """A worker of a pre-forking server exited: drop its live gauges from the shared files."""
    if multiprocess_dir():
        multiprocess.mark_process_dead(pid)
