"""What one purchase costs the databases (monolith, Kafka deployment: the outbox relays are woken
by a `NOTIFY` after each outbox transaction's commit): statements and commits on every alias, the
provider's own (the sandbox's ledger) aside. Counts are deterministic; no clock. The steps:
docs/payments.md."""

from contextlib import ExitStack, contextmanager
from dataclasses import dataclass, field

import psycopg
import pytest
from django.db import connections, transaction
from django.test import override_settings

from apps.common.events.outbox import emit, emit_many, relay_channel
from apps.payments.models import SandboxCharge
from tests.support.purchases import PURCHASE_DATABASES, purchase

pytestmark = pytest.mark.django_db(databases=PURCHASE_DATABASES, transaction=True)

PROVIDER_TABLE = f'"{SandboxCharge._meta.db_table}"'
STOCK_TABLE = "inventory_stockrecord"  # inventory's table, named as the statements name it


@dataclass
class Cost:
    statements: list[str] = field(default_factory=list)
    committed: list[list[str]] = field(default_factory=list)  # each commit's statements

    @property
    def commits(self) -> int:
        return len(self.committed)


@contextmanager
def counted():
    """Every statement on every database the purchase may use (the test allows no other), the
    provider's aside, and every commit of them: an outermost atomic block that ran one, or the
    implicit commit of a write outside any."""
    cost = Cost()
    with ExitStack() as stack:
        for connection in (connections[alias] for alias in PURCHASE_DATABASES):
            ran = []  # the purchase's statements in the open transaction

            def counting_commit(commit=connection.commit, ran=ran):
                if ran:
                    cost.committed.append(ran[:])
                ran.clear()
                commit()

            def forgetting_rollback(rollback=connection.rollback, ran=ran):
                ran.clear()
                rollback()

            connection.commit, connection.rollback = counting_commit, forgetting_rollback
            stack.callback(delattr, connection, "commit")
            stack.callback(delattr, connection, "rollback")

            def counting(execute, sql, params, many, context, connection=connection, ran=ran):
                if PROVIDER_TABLE not in sql:
                    cost.statements.append(sql)
                    if not connection.get_autocommit():
                        ran.append(sql)
                    elif not sql.lstrip().upper().startswith("SELECT"):
                        cost.committed.append([sql])
                return execute(sql, params, many, context)

            stack.enter_context(connection.execute_wrapper(counting))
        yield cost


@override_settings(KAFKA_BOOTSTRAP_SERVERS="127.0.0.1:9")  # never dialled: the relay is not running
def test_a_purchase_is_14_statements_in_3_commits(shopper_client, stocked_product):
    pen, ink = stocked_product("19.99", stock=10), stocked_product("2.50", stock=5)
    purchase(shopper_client, [(pen, 1)])  # warm: first-use lookups are not the purchase's

    with counted() as cost:
        response = purchase(shopper_client, [(pen, 2), (ink, 3)])

    assert response.status_code == 201, response.json()
    # price; claim + payment + items; reservation + lines + stock (lock, update) + events;
    # payment + event + key; and after each of the two commits that wrote events, the relays'
    # wake-up, a transaction that writes nothing. No savepoint, no health-check SELECT 1.
    assert len(cost.statements) == 14, "\n".join(cost.statements)
    assert cost.commits == 3
    wake_ups = [sql for sql in cost.statements if "pg_notify" in sql]
    assert len(wake_ups) == 2
    assert not [sql for committed in cost.committed for sql in committed if sql in wake_ups]
    # The stock rows are locked last in their transaction: only their update and its events follow.
    reserving = next(statements for statements in cost.committed if STOCK_TABLE in "".join(statements))
    assert [(sql.split()[0], sql.split('"')[1]) for sql in reserving] == [
        ("INSERT", "inventory_reservation"), ("INSERT", "inventory_reservationline"),
        ("SELECT", STOCK_TABLE), ("UPDATE", STOCK_TABLE), ("INSERT", "inventory_outboxevent"),
    ]
    assert reserving[2].endswith("FOR UPDATE")


@override_settings(KAFKA_BOOTSTRAP_SERVERS="127.0.0.1:9")
def test_an_outbox_insert_wakes_the_relays_after_commit_and_a_rollback_does_not():
    database = connections["payments"]
    with psycopg.connect(**database.get_connection_params(), autocommit=True) as listener:
        listener.execute(f"LISTEN {relay_channel('payments')}")
        with pytest.raises(RuntimeError), transaction.atomic(using="payments"):
            emit("payments", "payments.probe", {"n": 0}, key="payment-1")
            raise RuntimeError("the change failed")
        with transaction.atomic(using="payments"):
            emit_many("payments", [("payments.probe", {"n": n}, "payment-1") for n in (1, 2)])
            emit("payments", "payments.probe", {"n": 3}, key="payment-1")

        # One notification for the committed transaction, whatever it emitted; none for the
        # rolled-back one.
        notified = list(listener.notifies(timeout=2))
    assert [notify.channel for notify in notified] == [relay_channel("payments")]
