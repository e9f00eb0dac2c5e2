"""OpenTelemetry tracing, off unless the standard `OTEL_*` variables ask for it; when off, nothing
is instrumented, so it costs nothing. A trace crosses Kafka in the CloudEvent's `traceparent`; what is
instrumented and how: docs/observability.md.
"""

import os
from collections.abc import Iterator
from contextlib import contextmanager

from opentelemetry import context as otel_context
from opentelemetry import propagate, trace
from opentelemetry.trace import SpanKind

TRACEPARENT = "traceparent"
UNTRACED_URLS = "healthz,readyz,metrics"

_configured = False


def tracing_requested() -> bool:
    """What the standard variables say: an exporter named (not "none"), or an OTLP endpoint."""
    if os.environ.get("OTEL_SDK_DISABLED", "").strip().lower() == "true":
        return False
    exporter = os.environ.get("OTEL_TRACES_EXPORTER", "").strip().lower()
    if exporter:
        return exporter != "none"
    endpoints = ("OTEL_EXPORTER_OTLP_ENDPOINT", "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT")
    return any(os.environ.get(name) for name in endpoints)


def configure_tracing(span_processor=None) -> bool:
    """Install tracing once; True when it is on. `span_processor` overrides the environment
    (tests pass one around an in-memory exporter)."""
    global _configured
    if _configured:
        return True
    if span_processor is None:
        if not tracing_requested():
            return False
        span_processor = _span_processor_from_environment()

    from django.conf import settings
    from opentelemetry.sdk.resources import SERVICE_NAME, Resource
    from opentelemetry.sdk.trace import TracerProvider

    # OTEL_SERVICE_NAME and OTEL_RESOURCE_ATTRIBUTES, when set, win over SERVICE_NAME.
    attributes = {} if os.environ.get("OTEL_SERVICE_NAME") else {SERVICE_NAME: settings.SERVICE_NAME}
    provider = TracerProvider(resource=Resource.create(attributes))
    provider.add_span_processor(span_processor)
    trace.set_tracer_provider(provider)
    for instrumentor, options in instrumentors():
        if not instrumentor.is_instrumented_by_opentelemetry:
            instrumentor.instrument(**options)
    _configured = True
    return True


def _span_processor_from_environment():
    from opentelemetry.sdk.trace.export import BatchSpanProcessor, ConsoleSpanExporter

    if os.environ.get("OTEL_TRACES_EXPORTER", "otlp").strip().lower() == "console":
        return BatchSpanProcessor(ConsoleSpanExporter())
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter

    return BatchSpanProcessor(OTLPSpanExporter())


def instrumentors() -> list[tuple[object, dict]]:
    """Each library instrumentation with its options."""
    from opentelemetry.instrumentation.celery import CeleryInstrumentor
    from opentelemetry.instrumentation.django import DjangoInstrumentor
    from opentelemetry.instrumentation.grpc import GrpcInstrumentorClient, GrpcInstrumentorServer, filters
    from opentelemetry.instrumentation.psycopg import PsycopgInstrumentor
    from opentelemetry.instrumentation.redis import RedisInstrumentor
    from opentelemetry.instrumentation.requests import RequestsInstrumentor

    return [
        # Probes and scrapes would drown the traces that matter.
        (DjangoInstrumentor(), {"excluded_urls": os.environ.get("OTEL_PYTHON_DJANGO_EXCLUDED_URLS",
                                                                UNTRACED_URLS)}),
        (PsycopgInstrumentor(), {}),
        (RedisInstrumentor(), {}),
        (CeleryInstrumentor(), {}),
        # Health checks (probes, readiness) would drown the RPCs that matter, as for HTTP.
        (GrpcInstrumentorServer(filter_=filters.negate(filters.health_check())), {}),
        (GrpcInstrumentorClient(filter_=filters.negate(filters.health_check())), {}),
        (RequestsInstrumentor(), {}),
    ]


def inject_traceparent() -> str | None:
    """The W3C `traceparent` of the current span, or None when no trace is being recorded."""
    carrier: dict[str, str] = {}
    propagate.inject(carrier)
    return carrier.get(TRACEPARENT)


def extract_context(traceparent: str | None) -> otel_context.Context | None:
    """The context a `traceparent` names, to start spans in its trace; None when there is none."""
    if not traceparent:
        return None
    return propagate.extract({TRACEPARENT: traceparent})


@contextmanager
def event_span(event, operation: str, kind: SpanKind = SpanKind.CONSUMER) -> Iterator[None]:
    """A span around publishing (`kind=PRODUCER`) or processing an event, in the trace of the
    change that emitted it. Does nothing when tracing is off."""
    if not _configured:
        yield
        return
    tracer = trace.get_tracer(__name__)
    attributes = {
        "messaging.operation.name": operation,
        "messaging.message.id": event.get_id(),
        "cloudevents.event_type": event.get_type(),
        "cloudevents.event_source": event.get_source(),
    }
    parent = extract_context(event.get_extension(TRACEPARENT))
    with tracer.start_as_current_span(f"{operation} {event.get_type()}", context=parent, kind=kind,
                                      attributes=attributes):
        yield
