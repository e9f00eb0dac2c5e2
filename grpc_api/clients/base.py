"""What every remote interface shares: a lazy channel, a deadline on each call, retries of the
idempotent methods (gRPC service config), a circuit breaker, the service token, typed errors."""

import json
import os
import threading
from collections.abc import Callable
from types import ModuleType

import grpc
from django.conf import settings
from google.protobuf.descriptor import ServiceDescriptor
from google.protobuf.descriptor_pb2 import MethodOptions
from google.protobuf.message import Message

from apps.common.api.errors import ServiceUnavailable
from grpc_api.auth import ServiceTokenClientInterceptor
from grpc_api.breaker import CircuitBreaker
from grpc_api.errors import domain_error_from
from grpc_api.metrics import MetricsClientInterceptor

_UNANSWERED = (grpc.StatusCode.UNAVAILABLE, grpc.StatusCode.DEADLINE_EXCEEDED)
_RETRY_POLICY = {
    "maxAttempts": 4,
    "initialBackoff": "0.05s",
    "maxBackoff": "0.5s",
    "backoffMultiplier": 2,
    "retryableStatusCodes": ["UNAVAILABLE"],
}


def retried_methods(service: ServiceDescriptor) -> list[str]:
    """The RPCs the .proto gives an `idempotency_level` (NO_SIDE_EFFECTS or IDEMPOTENT): sending
    one again after a lost answer cannot apply it twice."""
    return [method.name for method in service.methods
            if method.GetOptions().idempotency_level != MethodOptions.IDEMPOTENCY_UNKNOWN]


class RemoteApp:
    app: str  # the app this client calls: the token's audience
    interface: ModuleType  # whose typed errors the client raises
    service: ServiceDescriptor
    stub_class: type
    # RPCs that are slow by design get a longer deadline than GRPC_DEADLINE_SECONDS.
    deadline_factors: dict[str, float] = {}

    def __init__(self, target: str):
        self.target = target
        self.breaker = CircuitBreaker(
            f"{self.app} at {target}", settings.GRPC_BREAKER_FAILURES, settings.GRPC_BREAKER_RESET_SECONDS,
        )
        self._lock = threading.Lock()
        self._stub = None
        self._stub_pid = None

    def _call(self, method: str, request):
        self.breaker.before_call()
        return self._answer(lambda: getattr(self._get_stub(), method)(request, timeout=self._timeout(method)))

    def _start(self, method: str, request) -> Callable[[], Message]:
        """Send the call now and return at once; calling the result waits for the answer
        (with `_call`'s typed errors)."""
        self.breaker.before_call()
        call = getattr(self._get_stub(), method).future(request, timeout=self._timeout(method))
        return lambda: self._answer(call.result)

    def _timeout(self, method: str) -> float:
        return settings.GRPC_DEADLINE_SECONDS * self.deadline_factors.get(method, 1)

    def _answer(self, wait: Callable[[], Message]) -> Message:
        try:
            response = wait()
        except grpc.RpcError as rpc_error:
            domain_error = domain_error_from(rpc_error, self.interface)
            # No answer, or the server's own database did not answer: the same to this caller.
            if rpc_error.code() in _UNANSWERED and (
                    domain_error is None or isinstance(domain_error, ServiceUnavailable)):
                self.breaker.record_failure()
                raise ServiceUnavailable(
                    f"{self.app} did not answer ({rpc_error.code().name})."
                ) from rpc_error
            self.breaker.record_success()  # it answered, even if with an error
            if domain_error is not None:
                raise domain_error from None
            raise
        self.breaker.record_success()
        return response

    def _get_stub(self):
        # Channels do not survive fork: make one on first use in each process, never at import.
        with self._lock:
            if self._stub is None or self._stub_pid != os.getpid():
                self._stub = self.stub_class(self._channel())
                self._stub_pid = os.getpid()
            return self._stub

    def _channel(self) -> grpc.Channel:
        retry = {
            "name": [{"service": self.service.full_name, "method": name}
                     for name in retried_methods(self.service)],
            "retryPolicy": _RETRY_POLICY,
        }
        options = [
            ("grpc.enable_retries", 1),
            ("grpc.service_config", json.dumps({"methodConfig": [retry]})),
            # Reconnect soon after a dependency comes back, so the breaker's trial call finds it.
            ("grpc.initial_reconnect_backoff_ms", 100),
            ("grpc.max_reconnect_backoff_ms", 1000),
        ]
        # With tracing on, OpenTelemetry wraps `insecure_channel` in its own (innermost) interceptor.
        channel = grpc.insecure_channel(self.target, options=options)
        return grpc.intercept_channel(
            channel, MetricsClientInterceptor(), ServiceTokenClientInterceptor(self.app),
        )
