"""Typed domain errors across the wire, both ways.

The server turns a DomainError into a gRPC status plus trailing metadata carrying the error's
`code`, HTTP `status` and JSON extras; the client turns them back into the calling interface's
own error class (one of its `ERRORS`), so `InsufficientStock` arrives as `InsufficientStock` with
its `product_id` and `available` (as JSON values, as in the REST problem body).
"""

import inspect
import json
from types import ModuleType

import grpc

from apps.common.api import errors as common_errors
from apps.common.api.errors import DomainError

CODE_KEY = "error-code"
STATUS_KEY = "error-status"
EXTRA_KEY = "error-extra"

_GRPC_CODE_FOR_HTTP_STATUS = {
    400: grpc.StatusCode.INVALID_ARGUMENT,
    401: grpc.StatusCode.UNAUTHENTICATED,
    403: grpc.StatusCode.PERMISSION_DENIED,
    404: grpc.StatusCode.NOT_FOUND,
    409: grpc.StatusCode.FAILED_PRECONDITION,
    422: grpc.StatusCode.INVALID_ARGUMENT,
    429: grpc.StatusCode.RESOURCE_EXHAUSTED,
    503: grpc.StatusCode.UNAVAILABLE,
}


def abort_with(context: grpc.ServicerContext, error: DomainError):
    """End the RPC with `error` (raises, as `context.abort` does)."""
    context.set_trailing_metadata((
        (CODE_KEY, error.code),
        (STATUS_KEY, str(error.status)),
        (EXTRA_KEY, json.dumps(error.extra, default=str)),
    ))
    context.abort(_GRPC_CODE_FOR_HTTP_STATUS.get(error.status, grpc.StatusCode.UNKNOWN), error.detail)


def domain_error_from(rpc_error: grpc.RpcError, interface: ModuleType) -> DomainError | None:
    """The interface's typed error an RPC failed with, or None when it carries no domain error
    (a transport failure, a deadline, a bug on the server)."""
    metadata = dict(rpc_error.trailing_metadata() or ())
    code = metadata.get(CODE_KEY)
    if code is None:
        return None
    error_class = _error_classes(interface).get(code)
    extra = json.loads(metadata.get(EXTRA_KEY) or "{}")
    if error_class is not None:
        # Extras are the error's keyword arguments; some classes build their own detail.
        takes_detail = "detail" in inspect.signature(error_class).parameters
        return error_class(rpc_error.details(), **extra) if takes_detail else error_class(**extra)
    # A code this interface does not declare still reaches the caller with its code and status.
    error = DomainError(rpc_error.details(), **extra)
    error.code, error.status = code, int(metadata.get(STATUS_KEY, DomainError.status))
    return error


def _error_classes(interface: ModuleType) -> dict[str, type[DomainError]]:
    """The common errors by code, overridden by the ones the interface declares (its `ERRORS`)."""
    common = (value for value in vars(common_errors).values()
              if isinstance(value, type) and issubclass(value, DomainError))
    return {error_class.code: error_class for error_class in (*common, *interface.ERRORS)}
