"""Prometheus interceptors: RPCs served and made, by service, method and status code, and their
latency. Health checks are left out (probes would drown the RPCs that matter)."""

import time

import grpc
from grpc_health.v1 import health

from apps.common.observability import metrics


def _service_and_method(full_method: str) -> tuple[str, str]:
    """`/shop.inventory.v1.Inventory/Reserve` -> ("shop.inventory.v1.Inventory", "Reserve")."""
    service, _, method = full_method.lstrip("/").partition("/")
    return service, method


class MetricsServerInterceptor(grpc.ServerInterceptor):
    """Outermost on the server, so refusals of the inner interceptors (auth) are counted too."""

    def intercept_service(self, continuation, handler_call_details):
        handler = continuation(handler_call_details)
        service, method = _service_and_method(handler_call_details.method)
        if handler is None or handler.unary_unary is None or service == health.SERVICE_NAME:
            return handler
        serve = handler.unary_unary

        def behavior(request, context):
            started = time.perf_counter()
            failed = False
            try:
                return serve(request, context)
            except BaseException:
                failed = True
                raise
            finally:
                # An abort sets the code before it raises; an unexpected exception is UNKNOWN.
                code = context.code() or (grpc.StatusCode.UNKNOWN if failed else grpc.StatusCode.OK)
                metrics.GRPC_SERVER_REQUESTS.labels(service=service, method=method, code=code.name).inc()
                metrics.GRPC_SERVER_LATENCY.labels(service=service, method=method).observe(
                    time.perf_counter() - started)

        return handler._replace(unary_unary=behavior)


class MetricsClientInterceptor(grpc.UnaryUnaryClientInterceptor):
    def intercept_unary_unary(self, continuation, client_call_details, request):
        service, method = _service_and_method(client_call_details.method)
        started = time.perf_counter()

        def count(call):
            metrics.GRPC_CLIENT_REQUESTS.labels(service=service, method=method, code=call.code().name).inc()
            metrics.GRPC_CLIENT_LATENCY.labels(service=service, method=method).observe(
                time.perf_counter() - started)

        # A finished call (or its RpcError) is counted at once; a future (`.future()`, in flight
        # while the caller works on) when it finishes: waiting here would serialise it.
        outcome = continuation(client_call_details, request)
        outcome.add_done_callback(count)
        return outcome
