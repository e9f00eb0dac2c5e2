"""The embedded default survives a first day: `make run` (gunicorn with its config, two workers
of four threads, SQLite files, in-process events) takes 16 concurrent purchases with no 5xx,
exact stock, and no payment left pending after the sweeper. It gave 500 `database is locked`,
some after the card was charged, before SQLite ran with WAL, a busy timeout and IMMEDIATE."""

import shlex
import sqlite3
import sys
import uuid
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from threading import Barrier

import requests

from tests.support.processes import REPO_ROOT, free_port, manage, sqlite_env, start_process, wait_for_port

SHOPPERS = 2
PURCHASES_EACH = 8
PURCHASES = SHOPPERS * PURCHASES_EACH
PASSWORD = "a-long-Secret-42"


def _make_run_command(port: int) -> list[str]:
    """The gunicorn command of the Makefile's `run` target, on `port`."""
    recipe = (REPO_ROOT / "Makefile").read_text().split("\nrun:", 1)[1].split("\n\n", 1)[0]
    (line,) = [line for line in recipe.splitlines() if "gunicorn" in line]
    args = shlex.split(line.strip())
    assert args[0] == "$(VENV)/bin/gunicorn", line
    args[args.index("--bind") + 1] = f"127.0.0.1:{port}"
    return [sys.executable, "-m", "gunicorn", *args[1:]]


def _query(path: Path, sql: str, params=()) -> list[tuple]:
    with sqlite3.connect(path) as db:
        return db.execute(sql, params).fetchall()


def test_16_concurrent_purchases_on_make_run(tmp_path):
    env = {**sqlite_env(tmp_path), "JWT_SIGNING_KEY": "", "DJANGO_SECRET_KEY": "", "SERVICE_AUTH_SECRET": ""}
    for step in (["migrate", "--verbosity", "0"], ["seed_demo"]):
        assert manage(step, env).returncode == 0
    inventory_db, payments_db = tmp_path / "inventory.sqlite3", tmp_path / "payments.sqlite3"
    ((product_hex, on_hand),) = _query(
        inventory_db, "SELECT product_id, on_hand FROM inventory_stockrecord WHERE on_hand > 0 "
                      "ORDER BY on_hand, product_id LIMIT 1")  # fewer units than buyers
    assert on_hand < PURCHASES
    product_id = str(uuid.UUID(product_hex))

    port = free_port()
    # As `make run` starts it: gunicorn's master has not loaded Django's settings.
    server = start_process("make-run-sqlite", _make_run_command(port),
                           {**env, "DJANGO_SETTINGS_MODULE": None}, port)
    try:
        wait_for_port(port, process=server.process)
        api = f"{server.url}/api/v1"
        tokens = []
        for _ in range(SHOPPERS):
            credentials = {"email": f"{uuid.uuid4().hex[:10]}@example.com", "password": PASSWORD}
            assert requests.post(f"{api}/auth/register", json=credentials, timeout=30).status_code == 201
            tokens.append(requests.post(f"{api}/auth/token", json=credentials, timeout=30).json()["access"])
        body = {"items": [{"product_id": product_id, "quantity": 1}], "payment_method": {"token": "tok_visa"}}
        start = Barrier(PURCHASES)

        def buy(number: int) -> tuple[int, str | None]:
            start.wait()
            response = requests.post(f"{api}/payments", timeout=60, json=body, headers={
                "Authorization": f"Bearer {tokens[number % SHOPPERS]}", "Idempotency-Key": str(number)})
            return response.status_code, response.json().get("code")

        with ThreadPoolExecutor(PURCHASES) as pool:
            answers = Counter(pool.map(buy, range(PURCHASES)))
    finally:
        server.stop()
    log = server.log()[-3000:]

    sold = min(on_hand, PURCHASES)
    assert answers == Counter({(201, None): sold, (409, "insufficient_stock"): PURCHASES - sold}), log
    assert _query(inventory_db, "SELECT on_hand, reserved FROM inventory_stockrecord WHERE product_id = ?",
                  [product_hex]) == [(on_hand - sold, 0)]

    swept = manage(["resolve_pending_payments", "--older-than", "0"], env)
    assert swept.returncode == 0, swept.stderr
    statuses = _query(payments_db, "SELECT status, count(*) FROM payments_payment GROUP BY status")
    assert {status: count for status, count in statuses} == {
        status: count for status, count in (("failed", PURCHASES - sold), ("succeeded", sold)) if count}
    assert _query(payments_db, "SELECT count(*) FROM payments_sandboxcharge") == [(sold,)]
