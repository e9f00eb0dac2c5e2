"""What every request pays before its view runs: the middleware, the metric writes and the log
line's redaction work, counted (not timed)."""

import logging

import pytest
from django.conf import settings
from django.test import Client
from prometheus_client import values

from config import structured_logs


def test_thirteen_middleware_and_one_metrics_layer():
    # The admin (every process serves its own) needs sessions, CSRF, authentication and messages;
    # the project's own metrics middleware replaces django-prometheus' pair.
    assert len(settings.MIDDLEWARE) == 13
    assert [name for name in settings.MIDDLEWARE if "metrics" in name.lower() or "prometheus" in name] == [
        "apps.common.observability.metrics.HttpMetricsMiddleware"]


@pytest.fixture
def metric_writes(monkeypatch):
    """Every write to a metric value of this process (in multiprocess mode, each is a file write)."""
    value_class = values.ValueClass
    writes = []
    for name in ("inc", "set"):
        original = getattr(value_class, name)

        def counted(self, *args, _original=original, **kwargs):
            writes.append(self)
            return _original(self, *args, **kwargs)

        monkeypatch.setattr(value_class, name, counted)
    return writes


def test_a_request_writes_three_metric_samples(metric_writes):
    # A path no view serves: no database or cache access adds its own metrics.
    assert Client().get("/api/v1/nowhere").status_code == 404
    # The response counter, the latency histogram's sum and one of its buckets.
    assert len(metric_writes) == 3


@pytest.fixture
def access_lines():
    """The access lines, formatted by the project's formatter at INFO."""
    lines = []

    class Capture(logging.Handler):
        def emit(self, record):
            lines.append(self.format(record))

    handler = Capture()
    handler.setFormatter(structured_logs.build_formatter("json"))
    logger = logging.getLogger(structured_logs.ACCESS_LOGGER)
    previous = logger.level
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    yield lines
    logger.removeHandler(handler)
    logger.setLevel(previous)


@pytest.fixture
def redactions(monkeypatch):
    """Each string the redaction scanned with its regular expressions."""
    scanned = []
    original = structured_logs.redact_text

    def counted(text):
        scanned.append(text)
        return original(text)

    monkeypatch.setattr(structured_logs, "redact_text", counted)
    return scanned


@pytest.mark.django_db(databases="__all__")
def test_the_access_line_of_a_routed_request_runs_no_regular_expression(access_lines, redactions):
    Client().get("/healthz")
    assert len(access_lines) == 1 and '"path": "/healthz"' in access_lines[0]
    assert redactions == []


def test_an_unrouted_path_is_redacted_once_where_the_line_is_built(access_lines, redactions):
    Client().get("/api/v1/tok_visa_4242", HTTP_AUTHORIZATION="Bearer abc")
    assert len(access_lines) == 1
    assert "tok_visa_4242" not in access_lines[0] and structured_logs.REDACTED in access_lines[0]
    # Once for the access line; Django's own "Not Found" warning scans its message and fields.
    assert redactions.count("/api/v1/tok_visa_4242") == 1
    assert not any(text.startswith("GET ") for text in redactions)


def test_other_lines_scan_their_free_text_not_the_pipeline_fields(redactions):
    event = {"time": "2026-01-01T00:00:00Z", "level": "info", "logger": "apps.payments", "service": "shop",
             "request_id": "r1", "message": "charging tok_visa_1", "card_token": "tok_visa_2",
             "amount": "10.00"}
    redacted = structured_logs.redact(None, "info", event)
    assert redacted["message"] == f"charging {structured_logs.REDACTED}"
    assert redacted["card_token"] == structured_logs.REDACTED
    assert redactions == ["charging tok_visa_1", "10.00"]


def test_the_access_line_still_hides_a_secret_named_field_without_scanning_values(redactions):
    event = {"logger": structured_logs.ACCESS_LOGGER, "message": "GET /healthz 200", "path": "/healthz",
             "api_token": "t0ken"}
    redacted = structured_logs.redact(None, "info", event)
    assert redacted["api_token"] == structured_logs.REDACTED and redacted["path"] == "/healthz"
    assert redactions == []
