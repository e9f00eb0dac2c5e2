"""The gRPC server of one process: the servicers of the apps it serves, health and reflection."""

from concurrent.futures import ThreadPoolExecutor
from importlib import import_module

import grpc
from django.db import close_old_connections
from grpc_health.v1 import health, health_pb2, health_pb2_grpc
from grpc_reflection.v1alpha import reflection

from apps.common.errors import DomainError
from grpc_api.auth import ServiceTokenServerInterceptor
from grpc_api.errors import abort_with

# Apps with a servicer (`apps/<app>/grpc.py`); payments is called by nobody.
GRPC_APPS = ("users", "products", "inventory")


class DjangoRequestInterceptor(grpc.ServerInterceptor):
    """What Django's request cycle would do around a view, for each RPC on a worker thread:
    drop stale database connections before and after (handler threads get no request signals),
    and answer a DomainError with its status and metadata (see grpc_api/errors.py)."""

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
            finally:
                close_old_connections()

        return grpc.unary_unary_rpc_method_handler(
            behavior, request_deserializer=handler.request_deserializer,
            response_serializer=handler.response_serializer,
        )


def build_server(apps, max_workers: int) -> tuple[grpc.Server, health.HealthServicer]:
    """A server (not started) with the servicers of `apps` that have one; the health servicer
    answers SERVING for each of them until `enter_graceful_shutdown()`."""
    server = grpc.server(
        ThreadPoolExecutor(max_workers=max_workers, thread_name_prefix="grpc"),
        interceptors=[ServiceTokenServerInterceptor(), DjangoRequestInterceptor()],
    )
    service_names = []
    for app in apps:
        if app in GRPC_APPS:
            servicer_module = import_module(f"apps.{app}.grpc")
            servicer_module.add_to_server(server)
            service_names.append(servicer_module.SERVICE_NAME)

    health_servicer = health.HealthServicer()
    for name in ("", *service_names):  # "" is the whole server
        health_servicer.set(name, health_pb2.HealthCheckResponse.SERVING)
    health_pb2_grpc.add_HealthServicer_to_server(health_servicer, server)
    reflection.enable_server_reflection(
        (*service_names, health.SERVICE_NAME, reflection.SERVICE_NAME), server,
    )
    return server, health_servicer
