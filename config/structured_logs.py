"""Structured logs: one JSON object per line, with the request, trace and user it belongs to, and
secrets redacted on every line. The fields and the redaction rules: docs/observability.md.

Settings and gunicorn configure logging from here before any app loads; the request's part
(its id, the access line) is `apps.common.observability.logging.RequestContextMiddleware`.
"""

import functools
import os
import re
from contextvars import ContextVar

import structlog
from django.utils.functional import SimpleLazyObject, empty
from opentelemetry import trace

REDACTED = "[REDACTED]"
# A field whose name contains one of these holds a credential or payment secret.
SECRET_KEY_PATTERN = re.compile(
    r"password|passwd|token|access|refresh|authorization|secret|card|payment_method|cookie|api_key",
    re.IGNORECASE,
)
SECRET_VALUE_PATTERNS = (
    re.compile(r"eyJ[\w-]+\.[\w-]+\.[\w-]*"),  # a JWT (header.payload.signature)
    re.compile(r"\btok_\w+"),  # a sandbox card token
    re.compile(r"(?i)\bBearer\s+\S+"),
    # `password=...`, `'access_token': '...'` inside free text (query strings, reprs, messages)
    re.compile(
        r"(?i)\b([\w-]*(?:password|passwd|token|access|refresh|secret|api_key|card|payment_method)[\w-]*)"
        r"([\"']?\s*[:=]\s*[\"']?)[^\s\"'&,;})]+"
    ),
)
# Fields the pipeline itself writes: never scrubbed by name.
OWN_FIELDS = frozenset({"time", "level", "logger", "message", "service", "request_id", "trace_id",
                        "span_id", "user_id", "exception"})
# Of those, the ones whose values the pipeline makes from known parts (never free text), and
# structlog's own references to the record (removed before rendering).
CLEAN_FIELDS = OWN_FIELDS - {"message", "exception"} | {"_record", "_from_structlog"}
ACCESS_LOGGER = "shop.request"
HTTP_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "TRACE", "CONNECT"})

# The request being served by this thread or task, set by the request middleware.
current_request: ContextVar = ContextVar("current_request", default=None)


def redact_text(text: str) -> str:
    for pattern in SECRET_VALUE_PATTERNS:
        if pattern.groups:
            text = pattern.sub(lambda match: f"{match.group(1)}{match.group(2)}{REDACTED}", text)
        else:
            text = pattern.sub(REDACTED, text)
    return text


def _redact_value(value):
    if isinstance(value, str):
        return redact_text(value)
    if isinstance(value, dict):
        return {key: REDACTED if _is_secret_key(key) else _redact_value(item) for key, item in value.items()}
    if isinstance(value, list | tuple | set):
        return [_redact_value(item) for item in value]
    if isinstance(value, int | float | bool) or value is None:
        return value
    return redact_text(str(value))


def _is_secret_key(key) -> bool:
    return isinstance(key, str) and _is_secret_name(key)


@functools.lru_cache(maxsize=1024)
def _is_secret_name(name: str) -> bool:
    # Field names are few and repeat on every line: each is matched once per process.
    return bool(SECRET_KEY_PATTERN.search(name))


def redact(logger, method_name, event_dict):
    """Scrub secret-named fields and secret-looking values from the whole line.

    The pipeline's own fields are made from known parts and the access line's values are
    redacted where it builds them (`RequestContextMiddleware`): neither is scanned again (field
    names still are: a name is matched once per process).
    """
    if event_dict.get("logger") == ACCESS_LOGGER:
        return {key: REDACTED if key not in OWN_FIELDS and _is_secret_key(key) else value
                for key, value in event_dict.items()}
    return {
        key: value if key in CLEAN_FIELDS
        else REDACTED if key not in OWN_FIELDS and _is_secret_key(key) else _redact_value(value)
        for key, value in event_dict.items()
    }


def add_service(logger, method_name, event_dict):
    event_dict.setdefault("service", _service_name())
    return event_dict


def _service_name() -> str:
    from django.conf import settings
    from django.core.exceptions import ImproperlyConfigured

    try:
        return settings.SERVICE_NAME
    except ImproperlyConfigured:  # gunicorn's master logs before Django's settings load
        return os.environ.get("SERVICE_NAME", "shop")


def add_trace_context(logger, method_name, event_dict):
    """The current OpenTelemetry span's ids; nothing when tracing is off (no valid span)."""
    context = trace.get_current_span().get_span_context()
    if context.is_valid:
        event_dict["trace_id"] = format(context.trace_id, "032x")
        event_dict["span_id"] = format(context.span_id, "016x")
    return event_dict


def add_user_id(logger, method_name, event_dict):
    """The authenticated user of the request being served, once authentication has run."""
    request = current_request.get()
    if request is not None and "user_id" not in event_dict:
        user_id = authenticated_user_id(request)
        if user_id is not None:
            event_dict["user_id"] = user_id
    return event_dict


def authenticated_user_id(request) -> str | None:
    # DRF authenticates lazily inside the view and then sets `request.user` (a JWT TokenUser).
    # A session user Django has not loaded yet stays unloaded: logging must not query.
    user = request.__dict__.get("user")
    if isinstance(user, SimpleLazyObject):
        user = None if user._wrapped is empty else user._wrapped
    if user is not None and getattr(user, "is_authenticated", False):
        return str(user.pk)
    return None


def shared_processors() -> list:
    """What every line gets, whether it comes from structlog or from a stdlib logger."""
    return [
        structlog.contextvars.merge_contextvars,
        structlog.stdlib.add_log_level,
        structlog.stdlib.add_logger_name,
        structlog.stdlib.ExtraAdder(),
        structlog.processors.TimeStamper(fmt="iso", utc=True, key="time"),
        add_service,
        add_trace_context,
        add_user_id,
        structlog.processors.format_exc_info,
        structlog.processors.EventRenamer("message"),
        redact,
    ]


def build_formatter(renderer: str = "json") -> structlog.stdlib.ProcessorFormatter:
    """The formatter `LOGGING` names (`renderer`: "json" or "console")."""
    structlog.configure(
        processors=[structlog.stdlib.filter_by_level, *shared_processors(),
                    structlog.stdlib.ProcessorFormatter.wrap_for_formatter],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        cache_logger_on_first_use=True,
    )
    final = (
        structlog.dev.ConsoleRenderer(event_key="message")
        if renderer == "console" else structlog.processors.JSONRenderer()
    )
    return structlog.stdlib.ProcessorFormatter(
        # Lines from structlog already ran the shared chain; stdlib records run it here.
        foreign_pre_chain=shared_processors(),
        processors=[structlog.stdlib.ProcessorFormatter.remove_processors_meta, final],
    )


def logging_config(level: str, renderer: str) -> dict:
    """`LOGGING` for settings (and gunicorn's `logconfig_dict`): everything to stderr, structured."""
    return {
        "version": 1,
        "disable_existing_loggers": False,
        "formatters": {"structured": {"()": "config.structured_logs.build_formatter", "renderer": renderer}},
        "handlers": {"console": {"class": "logging.StreamHandler", "formatter": "structured"}},
        "root": {"handlers": ["console"], "level": level},
        "loggers": {
            # Django's and gunicorn's own handlers would print a second, unstructured copy.
            "django": {"handlers": ["console"], "level": level, "propagate": False},
            "gunicorn.error": {"handlers": ["console"], "level": level, "propagate": False},
            # The application logs each request itself, with its id, user and duration.
            "gunicorn.access": {"handlers": ["console"], "level": "WARNING", "propagate": False},
            "django.db.backends": {"level": "INFO"},
        },
    }
