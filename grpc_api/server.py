"""The gRPC server of one process: the servicers of the apps it serves, health and reflection."""

import logging
import threading
from concurrent.futures import ThreadPoolExecutor
from importlib import import_module

import grpc
from django.db import close_old_connections
from grpc_health.v1 import health, health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection

from apps.common.api.errors import DATABASE_UNAVAILABLE, DomainError, database_unavailable
from apps.common.observability.health import GRPC_LIVENESS_SERVICE, readiness_checks, run_checks
from grpc_api.auth import ServiceTokenServerInterceptor
from grpc_api.errors import abort_with
from grpc_api.metrics import MetricsServerInterceptor

logger = logging.getLogger(__name__)

# Apps with a servicer (`apps/<app>/grpc_servicer.py`); payments is called by nobody.
GRPC_APPS = ("users", "products", "inventory")


class DjangoRequestInterceptor(grpc.ServerInterceptor):
    """What Django's request cycle would do around a view, for each RPC on a worker thread:
    drop stale database connections before and after (handler threads get no request signals),
    and answer a DomainError with its status and metadata (see grpc_api/errors.py). A database
    that cannot be reached answers UNAVAILABLE, which callers retry and count in their breaker."""

    def intercept_service(self, continuation, handler_call_details):
        handler = continuation(handler_call_details)
        if handler is None or handler.unary_unary is None:
            return handler  # health's streaming Watch and reflection touch no database
        method = handler.unary_unary

        def behavior(request, context):
            close_old_connections()
            try:
                return method(request, context)
            except DomainError as error:
                abort_with(context, error)
            except DATABASE_UNAVAILABLE as error:
                logger.warning("database unavailable: %s: %s", type(error).__name__, str(error).strip()[:300])
                abort_with(context, database_unavailable(error))
            finally:
                close_old_connections()

        return grpc.unary_unary_rpc_method_handler(
            behavior, request_deserializer=handler.request_deserializer,
            response_serializer=handler.response_serializer,
        )


class ReadinessHealthServicer(health.HealthServicer):
    """gRPC health of this process.

    `liveness` is SERVING while the process answers: it asks nothing outside the process, so a
    dependency's outage never restarts the container. The whole server ("") and each service it
    serves are SERVING while this process's own hard dependencies answer (the readiness checks:
    its databases and Redis; never its peers, so no outage cascades), NOT_SERVING until the
    first checks pass and from `enter_graceful_shutdown()`.
    """

    def __init__(self, service_names):
        super().__init__()
        self.service_names = ("", *service_names)
        self.set(GRPC_LIVENESS_SERVICE, health_pb2.HealthCheckResponse.SERVING)
        self._set_all(health_pb2.HealthCheckResponse.NOT_SERVING)
        self.failing: list[str] | None = None  # None: not checked yet

    def refresh(self) -> list[str]:
        """Run the readiness checks and report them; return the failing ones."""
        results = run_checks(readiness_checks())
        failing = sorted(name for name, result in results.items() if result.error)
        if failing != self.failing:
            if failing:
                reasons = "; ".join(f"{name}: {results[name].error}" for name in failing)
                logger.warning("not ready: %s", reasons)
            else:
                logger.info("ready")
        self.failing = failing
        status = health_pb2.HealthCheckResponse
        self._set_all(status.NOT_SERVING if failing else status.SERVING)
        return failing

    def follow_readiness(self, stopping: threading.Event, interval: float, retry: float) -> None:
        """Refresh until `stopping` is set: every `retry` seconds while not ready (so the server
        turns SERVING as soon as its dependencies answer), every `interval` once ready."""
        while not stopping.wait(retry if self.refresh() else interval):
            pass

    def _set_all(self, status) -> None:
        for name in self.service_names:
            self.set(name, status)


def build_server(apps, max_workers: int) -> tuple[grpc.Server, ReadinessHealthServicer]:
    """A server (not started) with the servicers of `apps` that have one, health and reflection."""
    server = grpc.server(
        ThreadPoolExecutor(max_workers=max_workers, thread_name_prefix="grpc"),
        # OpenTelemetry's interceptor, when tracing is on, is put before these (outermost).
        interceptors=[
            MetricsServerInterceptor(), ServiceTokenServerInterceptor(), DjangoRequestInterceptor(),
        ],
    )
    service_names = []
    for app in apps:
        if app in GRPC_APPS:
            servicer_module = import_module(f"apps.{app}.grpc_servicer")
            servicer_module.add_to_server(server)
            service_names.append(servicer_module.SERVICE_NAME)

    health_servicer = ReadinessHealthServicer(service_names)
    health_pb2_grpc.add_HealthServicer_to_server(health_servicer, server)
    reflection.enable_server_reflection(
        (*service_names, health.SERVICE_NAME, reflection.SERVICE_NAME), server,
    )
    return server, health_servicer
