"""The Celery worker runs the relay loops and the event consumers; operators see outbox and DLQ."""

import sys
import uuid

import pytest
from django.db import transaction

from apps.common.events import kafka
from apps.common.events.outbox import emit, outbox_model
from apps.common.models import DeadLetter
from tests.support.polling import wait_until
from tests.support.probe import PROBE_TYPE, effects
from tests.support.processes import database_env, free_port, start_process

OutboxEvent = outbox_model("payments")  # payments' outbox table, through the kernel

pytestmark = pytest.mark.django_db(databases="__all__", transaction=True)


def test_celery_worker_relays_the_outbox_and_its_consumers_apply_the_events(kafka_settings, kafka_broker):
    """The worker's relay loop (a thread of the main process, woken by the commit's NOTIFY) and
    its consumers move the events; no Celery task is involved."""
    queue = f"events-test-{uuid.uuid4().hex[:8]}"  # this run's own queue on the shared Redis
    env = {**database_env(), "KAFKA_BOOTSTRAP_SERVERS": kafka_broker.bootstrap_servers,
           "DJANGO_SETTINGS_MODULE": "tests.support.probe_settings", "METRICS_PORT": str(free_port()),
           "OUTBOX_RELAY_POLL_SECONDS": "60"}
    worker = start_process(
        "celery-worker",
        [sys.executable, "-m", "celery", "-A", "config", "worker", "-Q", queue, "--pool", "prefork",
         "--concurrency", "1", "--loglevel", "INFO"],
        env, port=0,
    )
    try:
        wait_until(lambda: "consumer shop-inventory reading payments.events" in worker.log()
                   and "relay payments listening on outbox_payments" in worker.log()
                   and " ready." in worker.log(), what="the worker, its relay and its consumers")
        with transaction.atomic(using="payments"):
            ids = [emit("payments", PROBE_TYPE, {"n": n}, key=f"payment-{n}").get_id() for n in range(5)]

        wait_until(lambda: all(effects(event_id) for event_id in ids), timeout=90,
                   what="the worker to relay and apply the events")
        assert not OutboxEvent.objects.filter(sent_at__isnull=True).exists()
        assert {event_id: effects(event_id)[event_id] for event_id in ids} == dict.fromkeys(ids, 1)
        assert "Task " not in worker.log()  # nothing ran as a Celery task
    finally:
        worker.stop(timeout=30)
    assert "consumer shop-inventory stopped" in worker.log()
    assert "relay payments stopped" in worker.log()


def test_readyz_reports_the_kafka_broker_where_an_outbox_is_relayed(client, kafka_settings, kafka_broker):
    assert client.get("/readyz").json()["checks"]["kafka"] == "ok"

    kafka_settings.KAFKA_BOOTSTRAP_SERVERS = "127.0.0.1:1"  # nothing listens there
    kafka.close_clients()
    response = client.get("/readyz")
    assert response.status_code == 200  # the outbox holds the events until Kafka is back
    assert response.json()["degraded"] == ["kafka"]


def test_admin_shows_the_outbox_backlog_and_replays_dead_letters(client, django_user_model, kafka_settings):
    admin = django_user_model.objects.create_superuser(email="ops@example.com", password="S3cure-pass!")
    client.force_login(admin)
    with transaction.atomic(using="payments"):
        emit("payments", PROBE_TYPE, {}, key="payment-1")
    letter = DeadLetter.objects.create(
        # A topic nobody consumes: the replayed message must not reach other tests' consumers.
        topic="probe.events", partition=0, offset=7, key="k", payload="{}",
        error="InvalidEvent: test", consumer_app="inventory",
    )

    page = client.get("/admin/payments/outboxevent/").content.decode()
    assert "Backlog: 1 unsent event(s)" in page
    assert client.get(f"/admin/common/deadletter/{letter.pk}/change/").status_code == 200

    response = client.post("/admin/common/deadletter/", {
        "action": "replay_selected", "_selected_action": [letter.pk],
    }, follow=True)
    assert "Replayed 1 dead letter(s)." in response.content.decode()
    letter.refresh_from_db()
    assert letter.replayed_at is not None
