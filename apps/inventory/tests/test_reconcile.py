"""`reconcile_inventory`: drift made with direct SQL is reported, fixed through a ledger entry, once."""


import pytest
from django.core.management import CommandError, call_command
from django.db import connections

from apps.inventory import interface
from apps.inventory.interface import StockLine
from apps.inventory.models import LedgerEntry, OutboxEvent
from apps.inventory.tests.stock import stock_of, stock_up
from tests.support.processes import database_env, manage

DB = "inventory"


def corrupt(sql, product_id):
    """Change counters behind the services' back, as a bad migration or a manual fix would."""
    with connections[DB].cursor() as cursor:
        cursor.execute(sql, [product_id])


def reconcile(*args):
    return call_command("reconcile_inventory", *args, verbosity=0)


def output_of(*args, capsys):
    try:
        reconcile(*args)
    except CommandError as error:
        return capsys.readouterr().out, str(error)
    return capsys.readouterr().out, None


@pytest.mark.django_db(databases=[DB])
class TestReconcile:
    def test_no_drift_reports_so_and_changes_nothing(self, capsys):
        stock_up([3, 4])
        before = LedgerEntry.objects.using(DB).count()
        out, error = output_of(capsys=capsys)
        assert error is None and "No drift in 2 stock record(s)." in out
        assert LedgerEntry.objects.using(DB).count() == before

    def test_drift_is_reported_in_a_table_and_left_alone_without_fix(self, capsys):
        counted, held, untouched = stock_up([10, 8, 5])
        interface.reserve("pay-1", [StockLine(held, 3)])
        corrupt("UPDATE inventory_stockrecord SET on_hand = on_hand + 4 WHERE product_id = %s", counted)
        corrupt("UPDATE inventory_stockrecord SET reserved = reserved + 2 WHERE product_id = %s", held)

        out, error = output_of(capsys=capsys)
        assert error == "2 of 3 stock record(s) drifted; run with --fix to correct them."
        rows = {line.split()[0]: line.split()[1:] for line in out.splitlines()[1:]}
        assert rows == {str(counted): ["14", "10", "0", "0"], str(held): ["8", "8", "5", "3"]}
        assert (stock_of(counted).on_hand, stock_of(held).reserved) == (14, 5)
        assert str(untouched) not in out

    def test_fix_corrects_through_the_ledger_and_a_rerun_finds_nothing(self, capsys):
        counted, held = stock_up([10, 8])
        interface.reserve("pay-1", [StockLine(held, 3)])
        corrupt("UPDATE inventory_stockrecord SET on_hand = 25 WHERE product_id = %s", counted)
        corrupt("UPDATE inventory_stockrecord SET reserved = 0 WHERE product_id = %s", held)
        events_before = OutboxEvent.objects.using(DB).count()

        out, error = output_of("--fix", capsys=capsys)
        assert error is None and "Fixed 2 drifted stock record(s)." in out
        assert (stock_of(counted).on_hand, stock_of(counted).reserved) == (10, 0)
        assert (stock_of(held).on_hand, stock_of(held).reserved) == (8, 3)
        entry = LedgerEntry.objects.using(DB).filter(stock_id=counted).order_by("-created_at").first()
        assert (entry.kind, entry.delta, entry.on_hand_after) == ("adjustment", 0, 10)
        assert entry.reason == "reconcile: on_hand 25 -> 10, reserved 0 -> 0"
        changed = [row.payload["data"] for row in OutboxEvent.objects.using(DB)
                   .filter(type="inventory.stock_changed").order_by("created_at")[events_before:]]
        assert {(data["product_id"], data["on_hand"], data["reserved"], data["available"])
                for data in changed} == {(str(counted), 10, 0, 10), (str(held), 8, 3, 5)}

        ledger_size = LedgerEntry.objects.using(DB).count()
        out, error = output_of("--fix", capsys=capsys)
        assert error is None and "No drift in 2 stock record(s)." in out
        assert LedgerEntry.objects.using(DB).count() == ledger_size

    def test_a_ledger_short_of_the_reservations_is_not_fixed(self, capsys):
        [product] = stock_up(5)
        interface.reserve("pay-1", [StockLine(product, 4)])
        corrupt("UPDATE inventory_reservationline SET quantity = 9 WHERE product_id = %s", product)

        _, error = output_of("--fix", capsys=capsys)
        assert error == "1 of 1 drifted record(s) could not be fixed."
        assert (stock_of(product).on_hand, stock_of(product).reserved) == (5, 4)

    def test_chunks_cover_every_record(self, capsys):
        products = stock_up([1] * 7)
        for product in products[::2]:
            corrupt("UPDATE inventory_stockrecord SET on_hand = 3 WHERE product_id = %s", product)
        _, error = output_of("--chunk-size", "2", capsys=capsys)
        assert error == "4 of 7 stock record(s) drifted; run with --fix to correct them."


@pytest.mark.django_db(databases=[DB], transaction=True)
def test_exit_codes_tell_cron_whether_drift_remains():
    [product] = stock_up(6)
    corrupt("UPDATE inventory_stockrecord SET on_hand = 2 WHERE product_id = %s", product)
    env = database_env(["inventory"])

    found = manage(["reconcile_inventory"], env)
    assert found.returncode == 1 and "run with --fix" in found.stderr
    assert "Checking stock: 1/1 record" in found.stderr  # the progress, as a log line off a terminal
    fixed = manage(["reconcile_inventory", "--fix"], env)
    assert fixed.returncode == 0, fixed.stderr
    clean = manage(["reconcile_inventory"], env)
    assert clean.returncode == 0 and "No drift in 1 stock record(s)." in clean.stdout
