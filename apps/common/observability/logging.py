"""Each request's part of the structured logs: its id, bound to every line logged while serving
it, and one access line. The pipeline itself (fields, redaction, formatter) is
`config.structured_logs`; docs/observability.md.
"""

import logging
import re
import time
import uuid

import structlog
from django.core.signals import request_finished

from config import structured_logs as logs

REQUEST_ID_HEADER = "X-Request-ID"
SANE_REQUEST_ID = re.compile(r"^[\w.:-]{1,128}$")

access_logger = logging.getLogger(logs.ACCESS_LOGGER)


class RequestContextMiddleware:
    """Give each request an id (the caller's `X-Request-ID` when sane), bind it to every line
    logged while serving it, echo it in the response, and log one line per request."""

    def __init__(self, get_response):
        self.get_response = get_response
        # Django logs a 4xx/5xx after the middleware returns: the context lasts until the
        # response is closed, then goes (a worker thread serves other requests next).
        request_finished.connect(forget_request_context, dispatch_uid="shop-forget-request-context")

    def __call__(self, request):
        request_id = request.headers.get(REQUEST_ID_HEADER, "")
        if not SANE_REQUEST_ID.match(request_id):
            request_id = uuid.uuid4().hex
        request.request_id = request_id
        structlog.contextvars.clear_contextvars()
        structlog.contextvars.bind_contextvars(request_id=request_id)
        logs.current_request.set(request)
        started = time.perf_counter()
        response = self.get_response(request)
        response[REQUEST_ID_HEADER] = request_id
        # A path a URL pattern matched holds only converters' values (ids), never a secret; any
        # other path, or an unknown method, is the client's free text.
        path = request.path if request.resolver_match is not None else logs.redact_text(request.path)
        method = request.method if request.method in logs.HTTP_METHODS else logs.redact_text(request.method)
        access_logger.info(
            "%s %s %s", method, path, response.status_code,
            extra={"method": method, "path": path, "status": response.status_code,
                   "duration_ms": round((time.perf_counter() - started) * 1000, 2)},
        )
        return response


def forget_request_context(**kwargs):
    logs.current_request.set(None)
    structlog.contextvars.clear_contextvars()
