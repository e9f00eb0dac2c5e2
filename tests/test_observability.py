"""Logs, metrics and traces: what operators rely on, checked on real processes and databases."""

import json
import sys
import uuid
from datetime import timedelta
from pathlib import Path

import pytest
import requests
import yaml
from django.db import connections, transaction
from django.test import Client
from django.utils import timezone
from opentelemetry import trace
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind
from prometheus_client.parser import text_string_to_metric_families

from apps.common.events.envelope import TRACEPARENT, from_document
from apps.common.events.outbox import emit, outbox_model
from apps.common.observability import metrics, telemetry
from config import structured_logs
from tests.support.processes import (
    REPO_ROOT,
    database_env,
    free_port,
    start_http_server,
    start_process,
    wait_for_port,
)
from tests.support.users import access_token

LINE_FIELDS = {"time", "level", "logger", "message", "service"}


def _json_lines(text: str) -> list[dict]:
    lines = [line for line in text.splitlines() if line.strip()]
    assert lines, "the process logged nothing"
    parsed = []
    for line in lines:
        try:
            parsed.append(json.loads(line))
        except ValueError:
            pytest.fail(f"not a JSON log line: {line!r}")
    return parsed


def _samples(body: str) -> dict[tuple[str, tuple], float]:
    return {
        (sample.name, tuple(sorted(sample.labels.items()))): sample.value
        for family in text_string_to_metric_families(body) for sample in family.samples
    }


@pytest.mark.django_db(databases="__all__")
class TestJsonLogsOfARealServer:
    def test_lines_are_json_with_context_and_carry_no_secret(self):
        user_id = str(uuid.uuid4())
        token = access_token(user_id)
        server = start_http_server("observability-logs",
                                   {**database_env(), "SERVICE_NAME": "shop-under-test"})
        try:
            secret_query = "tok_visa_4242_from_query"
            missing = requests.get(
                f"{server.url}/api/v1/nowhere?access_token={secret_query}&password=hunter2",
                headers={"Authorization": f"Bearer {token}", "X-Request-ID": "req-observability-1"},
                timeout=10,
            )
            authenticated = requests.get(f"{server.url}/api/schema/",
                                         headers={"Authorization": f"Bearer {token}"}, timeout=30)
            insane = requests.get(f"{server.url}/healthz", headers={"X-Request-ID": "a b c" * 50},
                                  timeout=10)
        finally:
            server.stop()
        assert missing.status_code == 404
        assert missing.headers["X-Request-ID"] == "req-observability-1"
        assert authenticated.status_code == 200
        assert len(insane.headers["X-Request-ID"]) == 32 and " " not in insane.headers["X-Request-ID"]

        output = server.log()
        for secret in (token, secret_query, "hunter2"):
            assert secret not in output
        lines = _json_lines(output)
        for line in lines:
            assert line.keys() >= LINE_FIELDS, line
            assert line["time"].endswith("Z")
            assert line["service"] == "shop-under-test"
        requests_logged = [line for line in lines if line["logger"] == "shop.request"]
        by_path = {line["path"]: line for line in requests_logged}
        assert by_path["/api/v1/nowhere"]["request_id"] == "req-observability-1"
        assert by_path["/api/v1/nowhere"]["status"] == 404
        assert by_path["/api/schema/"]["user_id"] == user_id
        assert by_path["/healthz"]["request_id"] == insane.headers["X-Request-ID"]
        # Django's own warning about the 404 is a JSON line of the same request.
        django_warnings = [line for line in lines if line["logger"] == "django.request"]
        assert any(line.get("request_id") == "req-observability-1" for line in django_warnings)

    def test_secrets_in_fields_messages_and_tracebacks_are_redacted(self):
        jwt_value = access_token()
        script = f"""
import logging, structlog
log = logging.getLogger("apps.users.services")
log.warning("login failed for %s", {{"email": "a@example.com", "password": "hunter2"}})
log.info("charging", extra={{"card_token": "tok_mastercard_1", "payment_method": "tok_visa_2",
                             "amount": "10.00"}})
structlog.get_logger("apps.payments").info("token issued", access="{jwt_value}",
                                           refresh="{jwt_value}", nested={{"authorization": "Bearer x"}})
try:
    raise ValueError("gateway refused tok_amex_3 with secret=s3cr3t")
except ValueError:
    log.exception("charge failed")
"""
        result = _run_django_script(script, {"SERVICE_NAME": "redaction-check"})
        assert result.returncode == 0, result.stderr
        for secret in ("hunter2", "tok_mastercard_1", "tok_visa_2", jwt_value, "tok_amex_3", "s3cr3t",
                       "Bearer x"):
            assert secret not in result.stderr
        lines = _json_lines(result.stderr)
        assert [line["message"].split(" ")[0] for line in lines] == ["login", "charging", "token", "charge"]
        assert lines[1]["amount"] == "10.00" and lines[1]["card_token"] == structured_logs.REDACTED
        assert lines[2]["nested"] == {"authorization": structured_logs.REDACTED}
        assert "ValueError" in lines[3]["exception"]
        assert all(line["service"] == "redaction-check" for line in lines)

    def test_console_format_and_an_unknown_format_stops_start_up(self):
        console = _run_django_script("import logging; logging.getLogger('x').warning('plain words')",
                                     {"LOG_FORMAT": "console"})
        assert console.returncode == 0 and "plain words" in console.stderr
        assert not console.stderr.lstrip().startswith("{")
        wrong = _run_django_script("", {"LOG_FORMAT": "xml"})
        assert wrong.returncode != 0 and "LOG_FORMAT" in wrong.stderr


def _scrape_exporter(env: dict) -> str:
    """Start a process that serves no HTTP, as grpcserve does, with the exporter; scrape it once."""
    port = free_port()
    program = ("import django, time; django.setup()\n"
               "from apps.common.observability import metrics\n"
               "metrics.EVENTS_CONSUMED.labels(topic='payments.events', app='inventory',"
               " outcome='dead_lettered').inc()\n"
               f"assert metrics.start_exporter() == {port}\n"
               "time.sleep(60)\n")
    worker = start_process("observability-exporter", [sys.executable, "-c", program],
                           {"DJANGO_SETTINGS_MODULE": "config.settings", "METRICS_PORT": str(port),
                            "SERVICE_APPS": "payments", **env}, port)
    try:
        wait_for_port(port, process=worker.process)
        return requests.get(f"http://127.0.0.1:{port}/metrics", timeout=10).text
    finally:
        worker.kill()


def _run_django_script(script: str, env: dict):
    import os
    import subprocess

    program = "import django; django.setup()\n" + script
    return subprocess.run(
        [sys.executable, "-c", program], cwd=REPO_ROOT, capture_output=True, text=True, timeout=60,
        env={**os.environ, "DJANGO_SETTINGS_MODULE": "config.settings", **database_env(), **env},
    )


def test_trace_ids_join_log_lines_when_a_span_is_current(tracing):
    with trace.get_tracer("test").start_as_current_span("work") as span:
        line = structured_logs.add_trace_context(None, "info", {})
    assert line == {"trace_id": format(span.get_span_context().trace_id, "032x"),
                    "span_id": format(span.get_span_context().span_id, "016x")}
    assert structured_logs.add_trace_context(None, "info", {}) == {}


# --- Metrics ------------------------------------------------------------------------------------
def _unsent(app: str, age: timedelta, count: int):
    model = outbox_model(app)
    for _ in range(count):
        with transaction.atomic(using=app):
            event = emit(app, f"{app}.observability_probe", {"n": 1}, key=str(uuid.uuid4()))
        model.objects.using(app).filter(pk=event.get_id()).update(created_at=timezone.now() - age)


@pytest.mark.django_db(databases="__all__")
class TestMetrics:
    def test_metrics_lists_the_system_families(self):
        body = Client().get("/metrics").content.decode()
        families = {family.name for family in text_string_to_metric_families(body)}
        expected = {"shop_purchases", "shop_refunds", "shop_reservations_expired", "shop_amount_sold",
                    "shop_events_consumed", "shop_consumer_lag", "shop_grpc_server_requests",
                    "shop_grpc_server_latency_seconds", "shop_grpc_client_requests",
                    "shop_grpc_client_latency_seconds", "shop_outbox_backlog",
                    "shop_outbox_oldest_unsent_age_seconds",
                    "django_http_responses_total_by_status_view_method",
                    "django_http_requests_latency_seconds_by_view_method"}
        assert expected <= families

    def test_outbox_gauges_count_real_unsent_rows(self):
        # Not a transactional test: on_commit never runs, so the emitted rows stay unsent.
        _unsent("payments", timedelta(minutes=3), 2)
        _unsent("inventory", timedelta(seconds=0), 1)
        outbox_model("inventory").objects.using("inventory").update(sent_at=timezone.now())
        samples = _samples(Client().get("/metrics").content.decode())
        assert samples[("shop_outbox_backlog", (("app", "payments"),))] == 2
        assert samples[("shop_outbox_backlog", (("app", "inventory"),))] == 0
        assert 180 <= samples[("shop_outbox_oldest_unsent_age_seconds", (("app", "payments"),))] < 240
        assert samples[("shop_outbox_oldest_unsent_age_seconds", (("app", "inventory"),))] == 0

    def test_app_gauges_are_exported_once_measured(self, monkeypatch):
        monkeypatch.setattr(metrics.ACTIVE_RESERVATIONS, "measure", None)
        assert "shop_active_reservations" not in Client().get("/metrics").content.decode()
        monkeypatch.setattr(metrics.ACTIVE_RESERVATIONS, "measure", lambda: 7)
        samples = _samples(Client().get("/metrics").content.decode())
        assert samples[("shop_active_reservations", ())] == 7

    def test_business_counters_show_what_was_counted(self):
        before = _samples(Client().get("/metrics").content.decode())
        metrics.PURCHASES.labels(outcome="completed").inc()
        metrics.AMOUNT_SOLD.labels(currency="EUR").inc(12.5)
        after = _samples(Client().get("/metrics").content.decode())
        key = ("shop_purchases_total", (("outcome", "completed"),))
        assert after[key] == before.get(key, 0) + 1
        eur = ("shop_amount_sold_total", (("currency", "EUR"),))
        assert after[eur] == before.get(eur, 0) + 12.5

    def test_gunicorn_workers_share_one_multiprocess_registry(self):
        server = start_http_server("observability-metrics", database_env())
        try:
            for _ in range(5):
                requests.get(f"{server.url}/api/v1/nowhere", timeout=10)
            body = requests.get(f"{server.url}/metrics", timeout=10).text
        finally:
            server.stop()
        samples = _samples(body)
        not_found = sum(value for (name, labels), value in samples.items()
                        if name == "django_http_responses_total_by_status_view_method_total"
                        and ("status", "404") in labels)
        assert not_found == 5
        assert ("shop_outbox_backlog", (("app", "payments"),)) in samples

    def test_exporter_serves_a_process_without_http(self):
        samples = _samples(_scrape_exporter(database_env(["payments"])))
        labels = (("app", "inventory"), ("outcome", "dead_lettered"), ("topic", "payments.events"))
        assert samples[("shop_events_consumed_total", labels)] == 1
        assert ("shop_outbox_backlog", (("app", "payments"),)) in samples
        assert ("shop_outbox_backlog", (("app", "inventory"),)) not in samples  # not served there

    def test_a_database_down_leaves_its_gauges_out_not_the_scrape(self):
        dead = {**database_env(["payments"]), "DATABASE_URL_PAYMENTS": "postgres://postgres@127.0.0.1:1/none"}
        samples = _samples(_scrape_exporter(dead))
        assert ("shop_outbox_backlog", (("app", "payments"),)) not in samples
        assert any(name == "shop_events_consumed_total" for name, _labels in samples)

    def test_a_taken_port_does_not_stop_the_process(self):
        port = free_port()
        import socket

        with socket.socket() as taken:
            taken.bind(("", port))
            taken.listen()
            assert metrics.start_exporter(port) is None


# --- Tracing ------------------------------------------------------------------------------------
@pytest.fixture(scope="module")
def span_exporter():
    exporter = InMemorySpanExporter()
    assert telemetry.configure_tracing(SimpleSpanProcessor(exporter))
    yield exporter
    for instrumentor, _options in telemetry.instrumentors():
        instrumentor.uninstrument()
    telemetry._configured = False  # the rest of the suite runs untraced, as a default process does


@pytest.fixture
def tracing(span_exporter):
    span_exporter.clear()
    return span_exporter


def test_tracing_is_off_without_the_standard_variables(monkeypatch):
    for name in ("OTEL_TRACES_EXPORTER", "OTEL_EXPORTER_OTLP_ENDPOINT", "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT",
                 "OTEL_SDK_DISABLED"):
        monkeypatch.delenv(name, raising=False)
    assert not telemetry.tracing_requested()
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", "http://127.0.0.1:4318")
    assert telemetry.tracing_requested()
    monkeypatch.setenv("OTEL_TRACES_EXPORTER", "none")
    assert not telemetry.tracing_requested()
    monkeypatch.setenv("OTEL_TRACES_EXPORTER", "otlp")
    monkeypatch.setenv("OTEL_SDK_DISABLED", "true")
    assert not telemetry.tracing_requested()


@pytest.mark.django_db(databases="__all__")
def test_untraced_process_emits_events_without_traceparent():
    with transaction.atomic(using="payments"):
        event = emit("payments", "payments.observability_probe", {"n": 1}, key="k")
    assert event.get_extension(TRACEPARENT) is None
    stored = outbox_model("payments").objects.using("payments").get(pk=event.get_id())
    assert TRACEPARENT not in stored.payload


@pytest.mark.django_db(databases="__all__", transaction=True)
def test_one_trace_from_the_request_through_the_outbox_to_the_handler(tracing):
    response = Client().get("/api/v1/nowhere", HTTP_X_REQUEST_ID="traced")
    assert response.status_code == 404
    server_spans = [span for span in tracing.get_finished_spans() if span.kind == SpanKind.SERVER]
    assert len(server_spans) == 1 and server_spans[0].attributes["http.status_code"] == 404

    tracing.clear()
    connections["payments"].close()  # the next connection is made through the instrumented psycopg
    with trace.get_tracer("test").start_as_current_span("purchase") as purchase, \
            transaction.atomic(using="payments"):
        event = emit("payments", "payments.observability_probe", {"n": 1}, key="k")
    trace_id = purchase.get_span_context().trace_id
    inserts = [span for span in tracing.get_finished_spans() if span.kind == SpanKind.CLIENT
               and span.attributes.get("db.system") == "postgresql" and span.name.startswith("INSERT")]
    assert inserts and all(span.context.trace_id == trace_id for span in inserts)
    stored = from_document(outbox_model("payments").objects.using("payments").get(pk=event.get_id()).payload)
    assert stored.get_extension(TRACEPARENT) == event.get_extension(TRACEPARENT)
    assert stored.get_extension(TRACEPARENT).split("-")[1] == format(trace_id, "032x")

    # The consumer side, with nothing current (another process): the trace goes on.
    assert telemetry.extract_context(None) is None
    with telemetry.event_span(stored, "process"):
        pass
    handler_span = next(span for span in tracing.get_finished_spans()
                        if span.name == "process payments.observability_probe")
    assert handler_span.context.trace_id == trace_id
    assert handler_span.kind == SpanKind.CONSUMER
    assert handler_span.parent.span_id == int(stored.get_extension(TRACEPARENT).split("-")[2], 16)


# --- deploy/observability ---------------------------------------------------------------------------
OBSERVABILITY_DIR = Path(REPO_ROOT) / "deploy" / "observability"


def _exported_sample_names() -> set[str]:
    Client().get("/healthz")  # django-prometheus registers its HTTP metrics on first use
    names = set()
    families = list(metrics.scrape_registry().collect())
    for family in families:
        suffixes = {"counter": ("_total", "_created"), "histogram": ("_bucket", "_count", "_sum", "_created"),
                    "summary": ("_count", "_sum", "_created")}.get(family.type, ("",))
        names.update(family.name + suffix for suffix in suffixes)
    names.update(gauge.name for gauge in metrics.APP_GAUGES)
    return names


def _metric_names_in(expression: str) -> set[str]:
    import re

    return set(re.findall(r"\b(?:shop|django)_[a-z0-9_]+\b", expression))


@pytest.mark.django_db(databases="__all__")
def test_alert_rules_and_dashboard_use_only_exported_metrics():
    exported = _exported_sample_names()
    rules = yaml.safe_load((OBSERVABILITY_DIR / "alerts.yaml").read_text())
    alerts = {rule["alert"]: rule for group in rules["groups"] for rule in group["rules"]}
    required = {"HighErrorRate", "HighP99Latency", "ConsumerLagHigh", "EventConsumerStalled", "OutboxStale",
                "DeadLettersGrowing", "PaidSalesUnreconciled"}
    assert required <= alerts.keys()
    for name, rule in alerts.items():
        used = _metric_names_in(rule["expr"])
        assert used, f"{name} references no metric"
        assert used <= exported, f"{name} uses unknown metrics {used - exported}"
        assert rule["labels"]["severity"] in {"warning", "critical"} and rule["annotations"]["summary"]

    dashboard = json.loads((OBSERVABILITY_DIR / "grafana-dashboard.json").read_text())
    expressions = [target["expr"] for panel in dashboard["panels"] for target in panel.get("targets", [])]
    assert len(expressions) >= 8
    for expression in expressions:
        used = _metric_names_in(expression)
        assert used and used <= exported, f"{expression} uses unknown metrics {used - exported}"
