"""Reconciliation of payments against inventory: lost events found and published again, once.

Events are "lost" the way a broker rebuilt empty loses them: the purchases and refunds run in
Kafka mode (their events are committed and notified, nothing in this process applies them), the
rows are then taken as relayed, and nothing ever reaches inventory. Reconciliation runs in the
embedded mode, where a row published again is applied in-process at commit.
"""

from contextlib import contextmanager

import prometheus_client
import pytest
from django.core.management import call_command
from django.utils import timezone

from apps.common.events.outbox import apply_event
from apps.inventory import interface as inventory
from apps.payments import reconciliation, tasks
from apps.payments.models import OutboxEvent
from tests.support.metrics import sample
from tests.support.purchases import PURCHASE_DATABASES, availability, purchase

pytestmark = pytest.mark.django_db(databases=["default", *PURCHASE_DATABASES], transaction=True)


@contextmanager
def events_lost(settings):
    """What commits inside is relayed to a broker that then forgets it."""
    settings.KAFKA_BOOTSTRAP_SERVERS = "127.0.0.1:1"  # never reached: nothing relays here
    yield
    settings.KAFKA_BOOTSTRAP_SERVERS = None
    OutboxEvent.objects.using("payments").filter(sent_at__isnull=True).update(sent_at=timezone.now())


def found_total(kind: str) -> float:
    return sample("shop_sales_reconciliation_found_total", kind=kind)


def buy(shopper_client, product_id, quantity: int = 1) -> str:
    response = purchase(shopper_client, [(product_id, quantity)])
    assert response.status_code == 201, response.json()
    return response.json()["id"]


def refund(staff_client, payment_id: str, *, restock: bool):
    response = staff_client.post(f"/api/v1/payments/{payment_id}/refund", {"restock": restock}, format="json")
    assert response.status_code == 200, response.json()


def test_lost_sales_refunds_and_held_reservations_are_found_and_repaired_once(
        settings, shopper_client, staff_client, stocked_product):
    settings.KAFKA_BOOTSTRAP_SERVERS = None
    product = stocked_product(stock=20)
    applied = buy(shopper_client, product)  # embedded: its sale is applied at commit
    refunded = buy(shopper_client, product)
    unstocked_refund = buy(shopper_client, product)
    with events_lost(settings):
        held = buy(shopper_client, product, 2)
        lapsed = buy(shopper_client, product, 3)
        refund(staff_client, refunded, restock=True)
        refund(staff_client, unstocked_refund, restock=False)
    inventory.release(lapsed)  # as expiry would, 15 minutes on
    before = {kind: found_total(kind) for kind in ("sale_missing", "reservation_held", "refund_missing")}
    assert availability(product) == inventory.Availability(product, on_hand=17, reserved=2, available=15)

    # Sent a moment ago: maybe still on its way, so not yet counted as lost.
    assert reconciliation.reconcile_sales().found == []

    dry = reconciliation.reconcile_sales(grace_seconds=0, dry_run=True)
    assert dry.checked == 7  # five purchases, two refunds
    assert {(d.kind, d.payment_id) for d in dry.found} == {
        ("reservation_held", held), ("sale_missing", lapsed), ("refund_missing", refunded),
    }
    assert dry.repaired == 0
    assert availability(product).reserved == 2

    result = reconciliation.reconcile_sales(grace_seconds=0)
    assert result.repaired == 3
    # 20 received; 1 + 1 + 1 + 2 + 3 sold; 1 restocked.
    assert availability(product) == inventory.Availability(product, on_hand=13, reserved=0, available=13)
    effects = inventory.get_stock_effects([applied, refunded, unstocked_refund, held, lapsed])
    assert {ref: (e.reservation, e.restocked) for ref, e in effects.items()} == {
        applied: ("committed", False), refunded: ("committed", True), unstocked_refund: ("committed", False),
        held: ("committed", False), lapsed: ("committed", False),
    }
    assert {kind: found_total(kind) - count for kind, count in before.items()} == {
        "sale_missing": 1, "reservation_held": 1, "refund_missing": 1,
    }
    assert prometheus_client.REGISTRY.get_sample_value("shop_sales_unreconciled") == 3

    assert reconciliation.reconcile_sales(grace_seconds=0).found == []
    assert prometheus_client.REGISTRY.get_sample_value("shop_sales_unreconciled") == 0
    # The lost originals turning up now change nothing: the repair used their very ids.
    for row in OutboxEvent.objects.using("payments").filter(key__in=[held, lapsed, refunded]):
        assert apply_event("inventory", row.event) is False
    assert availability(product).on_hand == 13


def test_reconcile_sales_command_reports_and_repairs(settings, shopper_client, stocked_product, capsys):
    settings.KAFKA_BOOTSTRAP_SERVERS = None
    product = stocked_product(stock=5)
    with events_lost(settings):
        payment_id = buy(shopper_client, product)
    event_id = OutboxEvent.objects.using("payments").get(key=payment_id).id

    call_command("reconcile_sales", "--dry-run", "--grace", "0")
    output = capsys.readouterr().out
    assert f"reservation_held: payment {payment_id} (event {event_id})" in output
    assert "1 reservation_held; dry run, nothing published." in output
    assert availability(product).reserved == 1

    call_command("reconcile_sales", "--grace", "0", "--since", timezone.now().date().isoformat() + "T00:00")
    assert "1 reservation_held; 1 event(s) published again." in capsys.readouterr().out
    assert availability(product) == inventory.Availability(product, on_hand=4, reserved=0, available=4)

    call_command("reconcile_sales", "--grace", "0", "--since", "2000-01-01T00:00")
    assert "nothing missing; 0 event(s) published again." in capsys.readouterr().out


def test_beat_reconciles_well_within_the_reservation_ttl_and_after_the_grace(settings):
    entry = settings.CELERY_BEAT_SCHEDULE["payments.reconcile_sales"]
    assert entry["task"] == tasks.reconcile_sales.name
    # A paid reservation is committed long before expiry could give its units back, and an event
    # re-sent by one run is old enough to be checked again by the next.
    assert settings.RECONCILE_SALES_GRACE_SECONDS < entry["schedule"] <= settings.RESERVATION_TTL_SECONDS / 5
    tasks.reconcile_sales.apply().get()
