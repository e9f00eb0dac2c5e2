"""Operator commands: every one explains itself, and `check_services` reaches every dependency."""

import re
import uuid
from pathlib import Path

import pytest
from django.core.management import call_command, get_commands, load_command_class
from django.db import transaction

from apps.common.outbox import emit
from tests.support.processes import REPO_ROOT, database_env, manage, start_grpc_server

PROJECT_COMMANDS = sorted(
    name for name, app in get_commands().items()
    if app.startswith("apps.") and (REPO_ROOT / Path(*app.split("."))).is_dir()
)


def test_the_project_has_its_operator_commands():
    assert {"seed_demo", "relay_outbox", "replay_dlq", "release_expired_reservations",
            "reconcile_inventory", "check_services", "purge_idempotency_keys", "migrate",
            "createsuperuser"} <= set(PROJECT_COMMANDS)


@pytest.mark.parametrize("name", PROJECT_COMMANDS)
def test_help_describes_the_command(name):
    command = load_command_class(get_commands()[name], name)
    assert len(command.help) >= 40, f"{name} needs a help text that says what it does"
    result = manage([name, "--help"], {})
    assert result.returncode == 0, result.stderr
    assert " ".join(command.help.split()[:5]) in " ".join(result.stdout.split())


def rows_of(output: str) -> dict[str, list[str]]:
    lines = output.splitlines()
    assert lines[0].split() == ["name", "target", "status", "latency"]
    return {line.split()[0]: line.split()[1:] for line in lines[1:]}


@pytest.mark.django_db(databases="__all__")
def test_check_services_reaches_every_database_and_redis(capsys):
    call_command("check_services")
    rows = rows_of(capsys.readouterr().out)
    assert set(rows) == {"database:default", "database:users", "database:products",
                         "database:inventory", "database:payments", "redis"}
    for name, (_target, status, latency, unit) in rows.items():
        assert status == "ok" and unit == "ms" and int(latency) >= 0, name
    assert "shop_inventory" in rows["database:inventory"][0]
    assert rows["redis"][0].startswith("redis://127.0.0.1:6379/")


@pytest.mark.django_db(databases="__all__")
def test_check_services_fails_naming_a_database_that_is_down():
    env = {**database_env(), "DATABASE_URL_INVENTORY": "postgres://postgres@127.0.0.1:1/nowhere"}
    result = manage(["check_services"], env)
    assert result.returncode == 1
    assert "1 dependency check(s) failed: database:inventory." in result.stderr
    rows = rows_of(result.stdout)
    assert rows["database:inventory"][:2] == ["127.0.0.1:1/nowhere", "FAIL"]
    assert rows["database:default"][1] == "ok"


@pytest.mark.kafka
@pytest.mark.django_db(databases="__all__")
def test_check_services_reaches_kafka_where_it_is_configured(kafka_broker, settings, capsys):
    settings.KAFKA_BOOTSTRAP_SERVERS = kafka_broker.bootstrap_servers
    call_command("check_services")
    target, status, *_ = rows_of(capsys.readouterr().out)["kafka"]
    assert (target, status) == (kafka_broker.bootstrap_servers, "ok")


@pytest.mark.django_db(databases="__all__")
def test_relay_outbox_shows_progress_and_a_rerun_relays_nothing(capsys):
    with transaction.atomic(using="payments"):
        for _ in range(5):
            item = {"product_id": str(uuid.uuid4()), "quantity": 1, "unit_price": "1.00"}
            emit("payments", "payments.refunded", {"payment_id": str(uuid.uuid4()), "items": [item],
                                                   "restock": False}, key=str(uuid.uuid4()))
    call_command("relay_outbox", "--app", "payments", "--batch-size", "2")
    output = capsys.readouterr()
    assert "payments: relayed 5 event(s)" in output.out
    assert re.search(r"Relaying payments: 100%.*5/5", output.err)
    call_command("relay_outbox", "--app", "payments")
    assert "payments: relayed 0 event(s)" in capsys.readouterr().out


@pytest.fixture
def users_grpc_server(django_db_setup):
    server = start_grpc_server("check-services-users-grpc", database_env(["users"]))
    yield server.address
    server.stop()


@pytest.mark.django_db(databases="__all__")
def test_check_services_asks_the_grpc_servers_of_the_apps_it_calls(users_grpc_server):
    env = {**database_env(["payments"]), "USERS_GRPC_TARGET": users_grpc_server,
           "PRODUCTS_GRPC_TARGET": "127.0.0.1:1", "INVENTORY_GRPC_TARGET": ""}
    result = manage(["check_services"], env)
    rows = rows_of(result.stdout)
    assert rows["grpc:users"][:2] == [users_grpc_server, "ok"]
    assert rows["grpc:products"][:2] == ["127.0.0.1:1", "FAIL"]
    assert rows["grpc:inventory"][:3] == ["not", "configured", "FAIL"]
    assert "grpc:payments" not in rows  # served here
    assert result.returncode == 1
    assert "2 dependency check(s) failed: grpc:products, grpc:inventory." in result.stderr

