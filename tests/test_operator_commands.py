"""Operator commands: every one explains itself, and `check_services` reaches every dependency."""

import fcntl
import json
import os
import pty
import re
import struct
import subprocess
import sys
import termios
import uuid
from pathlib import Path

import pytest
from django.core.management import call_command, get_commands, load_command_class
from django.db import transaction

from apps.common.events.outbox import emit
from tests.support.processes import REPO_ROOT, database_env, manage, sqlite_env, start_grpc_server

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
def test_relay_outbox_shows_progress_and_a_rerun_relays_nothing(capsys, caplog):
    with transaction.atomic(using="payments"):
        for _ in range(5):
            item = {"product_id": str(uuid.uuid4()), "quantity": 1, "unit_price": "1.00"}
            emit("payments", "payments.refunded", {"payment_id": str(uuid.uuid4()), "items": [item],
                                                   "restock": False}, key=str(uuid.uuid4()))
    call_command("relay_outbox", "--app", "payments", "--batch-size", "2")
    output = capsys.readouterr()
    assert "payments: relayed 5 event(s)" in output.out
    # Not a terminal here: the progress is a log line (a bar on a terminal, see below).
    assert "Relaying payments: 5/5 event" in caplog.messages
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



@pytest.mark.parametrize("name", PROJECT_COMMANDS)
def test_every_option_has_help(name):
    command = load_command_class(get_commands()[name], name)
    actions = command.create_parser("manage.py", name)._actions
    assert [action.option_strings or action.dest for action in actions if not action.help] == []


@pytest.fixture(scope="module")
def sqlite(tmp_path_factory):
    """A migrated embedded (SQLite) setup, as `make run` has."""
    env = sqlite_env(tmp_path_factory.mktemp("progress"))
    assert manage(["migrate", "--verbosity", "0"], env).returncode == 0
    return env


class TestProgressIsWrittenOnce:
    """A bar on a terminal; in logs (cron, Jobs) log lines, not redrawn bars."""

    def test_log_lines_when_not_a_terminal(self, sqlite):
        result = manage(["seed_demo", "--products", "7"], sqlite)
        assert result.returncode == 0, result.stderr
        assert "\r" not in result.stderr
        [line] = [json.loads(line) for line in result.stderr.splitlines() if "Seeding products" in line]
        assert line["message"] == "Seeding products: 7/7 product"

    def test_a_bar_on_a_terminal(self, sqlite):
        leader, follower = pty.openpty()
        fcntl.ioctl(follower, termios.TIOCSWINSZ, struct.pack("HHHH", 40, 100, 0, 0))
        process = subprocess.Popen([sys.executable, "manage.py", "seed_demo", "--products", "9"],
                                   cwd=REPO_ROOT, env={**os.environ, **sqlite},
                                   stdout=subprocess.DEVNULL, stderr=follower)
        os.close(follower)
        output = b""
        while chunk := _read(leader):
            output += chunk
        assert process.wait(timeout=60) == 0
        assert re.search(rb"Seeding products: 100%\|.*\| 9/9", output), output
        assert b'"logger"' not in output


def _read(fd: int) -> bytes:
    try:
        return os.read(fd, 4096)
    except OSError:  # the terminal closed: the child exited
        return b""


@pytest.mark.parametrize("entry_point", [
    ["manage.py", "check"],
    ["-m", "gunicorn", "-c", "config/gunicorn.py", "config.wsgi:application", "--bind", "127.0.0.1:0"],
    ["-m", "celery", "--app", "config", "worker"],
], ids=["manage.py", "gunicorn", "celery"])
def test_a_configuration_error_is_one_line_naming_the_variable(entry_point, tmp_path):
    result = subprocess.run([sys.executable, *entry_point], cwd=REPO_ROOT, capture_output=True, text=True,
                            env={**os.environ, **sqlite_env(tmp_path), "SERVICE_APPS": "payment"}, timeout=60)
    assert result.returncode != 0
    output = result.stdout + result.stderr
    assert "Traceback" not in output
    assert [line for line in output.splitlines() if "SERVICE_APPS" in line] == [
        "Configuration error: SERVICE_APPS names unknown app(s) payment; "
        "valid names are users, products, inventory, payments."]
