import threading
import uuid
from datetime import timedelta
from io import StringIO

import pytest
from django.core.management import call_command
from django.db import IntegrityError, OperationalError, connections, transaction
from django.db.models import Sum
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from apps.common.events.envelope import new_event
from apps.common.events.outbox import apply_event, apply_events, is_transient
from apps.inventory import interface, services, tasks
from apps.inventory.errors import InsufficientStock, InvalidQuantity
from apps.inventory.interface import StockLine
from apps.inventory.models import (
    LedgerEntry,
    OutboxEvent,
    ProcessedEvent,
    Reservation,
    ReservationLine,
    SaleShortfall,
    StockRecord,
)
from apps.inventory.tests.stock import stock_of, stock_up

pytestmark = pytest.mark.django_db(databases=["inventory"])
DB = "inventory"


def ledger(product_id, **filters):
    return LedgerEntry.objects.using(DB).filter(stock_id=product_id, **filters)


def stock_events(product_id):
    return [row.payload["data"] for row in OutboxEvent.objects.using(DB).filter(
        type="inventory.stock_changed", key=str(product_id)).order_by("created_at")]


def pay(number: int) -> str:
    """A payment id (a UUID, as payments' events carry), also the reservation's reference."""
    return str(uuid.UUID(int=number))


def purchase_completed(payment_id, lines):
    return new_event("payments.purchase_completed", "/payments", {
        "payment_id": payment_id, "user_id": str(uuid.uuid4()), "amount": "10.00", "currency": "USD",
        "items": [{"product_id": str(product_id), "quantity": quantity, "unit_price": "5.00"}
                  for product_id, quantity in lines],
    })


def refunded(payment_id, lines, restock=True):
    return new_event("payments.refunded", "/payments", {
        "payment_id": payment_id, "restock": restock,
        "items": [{"product_id": str(product_id), "quantity": quantity, "unit_price": "5.00"}
                  for product_id, quantity in lines],
    })


def expire_now(reference):
    Reservation.objects.using(DB).filter(reference=reference).update(
        expires_at=timezone.now() - timedelta(seconds=1))


# --- reserve / release -----------------------------------------------------------------------

def test_a_reservation_holds_units_until_it_expires():
    [product_id] = stock_up(5)
    before = timezone.now()
    reservation = interface.reserve(pay(1), [StockLine(product_id, 2)])
    assert reservation.reference == pay(1)
    assert reservation.status == "active"
    assert reservation.lines == (StockLine(product_id, 2),)
    assert timedelta(seconds=899) < reservation.expires_at - before <= timedelta(seconds=901)
    assert interface.get_availability([product_id])[product_id] == interface.Availability(
        product_id=product_id, on_hand=5, reserved=2, available=3)


def test_reservation_ttl_comes_from_settings_or_the_caller(settings):
    [product_id] = stock_up(5)
    settings.RESERVATION_TTL_SECONDS = 60
    short = interface.reserve("a", [StockLine(product_id, 1)])
    assert short.expires_at < timezone.now() + timedelta(seconds=61)
    longer = interface.reserve("b", [StockLine(product_id, 1)], ttl_seconds=3600)
    assert longer.expires_at > timezone.now() + timedelta(seconds=3599)


def test_a_multi_item_reservation_is_all_or_nothing_and_names_the_short_product():
    plenty, scarce = stock_up([10, 1])
    with pytest.raises(InsufficientStock) as raised:
        interface.reserve(pay(1), [StockLine(plenty, 3), StockLine(scarce, 2)])
    assert raised.value.code == "insufficient_stock"
    assert raised.value.status == 409
    assert raised.value.extra == {"product_id": str(scarce), "available": 1}
    assert (stock_of(plenty).reserved, stock_of(scarce).reserved) == (0, 0)
    assert not Reservation.objects.using(DB).exists()


def test_a_product_without_stock_is_insufficient():
    unknown = uuid.uuid4()
    with pytest.raises(InsufficientStock) as raised:
        interface.reserve(pay(1), [StockLine(unknown, 1)])
    assert raised.value.extra == {"product_id": str(unknown), "available": 0}


def test_repeated_lines_of_one_product_are_reserved_together():
    [product_id] = stock_up(5)
    reservation = interface.reserve(pay(1), [StockLine(product_id, 2), StockLine(product_id, 3)])
    assert reservation.lines == (StockLine(product_id, 5),)
    assert stock_of(product_id).available == 0


@pytest.mark.parametrize("quantity", [0, -1])
def test_quantities_must_be_positive(quantity):
    [product_id] = stock_up(5)
    with pytest.raises(InvalidQuantity):
        interface.reserve(pay(1), [StockLine(product_id, quantity)])


def test_reserving_a_known_reference_again_answers_the_first_reservation_unchanged():
    [product_id] = stock_up(5)
    first = interface.reserve(pay(1), [StockLine(product_id, 2)])
    again = interface.reserve(pay(1), [StockLine(product_id, 3)])
    assert again == first
    assert stock_of(product_id).reserved == 2


def test_release_gives_units_back_once_and_ignores_unknown_references():
    [product_id] = stock_up(5)
    interface.reserve(pay(1), [StockLine(product_id, 2)])
    interface.release(pay(1))
    interface.release(pay(1))
    interface.release("never-reserved")
    assert (stock_of(product_id).reserved, Reservation.objects.using(DB).get().status) == (0, "released")


def test_availability_of_many_products_answers_zeros_for_unknown_ones():
    known, other = stock_up([4, 7])
    unknown = uuid.uuid4()
    interface.reserve(pay(1), [StockLine(other, 2)])
    availability = interface.get_availability([known, other, unknown])
    assert {product_id: (a.on_hand, a.reserved, a.available) for product_id, a in availability.items()} == {
        known: (4, 0, 4), other: (7, 2, 5), unknown: (0, 0, 0),
    }


# --- sale (payments.purchase_completed) --------------------------------------------------------

def test_a_purchase_turns_the_reservation_into_a_sale_once_under_redelivery():
    first, second = stock_up([10, 10])
    interface.reserve(pay(1), [StockLine(first, 2), StockLine(second, 1)])
    event = purchase_completed(pay(1), [(first, 2), (second, 1)])

    assert apply_event("inventory", event) is True
    assert apply_event("inventory", event) is False  # the same event delivered again
    # The payment's event published twice under two ids still sells once (reference idempotency).
    assert apply_event("inventory", purchase_completed(pay(1), [(first, 2), (second, 1)])) is True

    assert [(stock_of(p).on_hand, stock_of(p).reserved) for p in (first, second)] == [(8, 0), (9, 0)]
    assert Reservation.objects.using(DB).get().status == "committed"
    sale = ledger(first, kind="sale").get()
    assert (sale.delta, sale.reference, sale.on_hand_after, sale.actor_id) == (-2, pay(1), 8, None)


def test_a_committed_reservation_cannot_be_released_or_expired():
    [product_id] = stock_up(10)
    interface.reserve(pay(1), [StockLine(product_id, 2)])
    services.commit_sale(pay(1), [StockLine(product_id, 2)])
    expire_now(pay(1))
    interface.release(pay(1))
    assert services.release_expired_reservations() == 0
    assert (stock_of(product_id).on_hand, stock_of(product_id).reserved) == (8, 0)


def test_a_sale_after_its_reservation_expired_is_taken_from_available_stock():
    [product_id] = stock_up(10)
    interface.reserve(pay(1), [StockLine(product_id, 3)])
    expire_now(pay(1))
    services.release_expired_reservations()

    apply_event("inventory", purchase_completed(pay(1), [(product_id, 3)]))

    record = stock_of(product_id)
    assert (record.on_hand, record.reserved) == (7, 0)
    assert ledger(product_id, kind="sale").get().reason == "Sale (reservation expired)"
    assert Reservation.objects.using(DB).get().status == "committed"
    assert not SaleShortfall.objects.using(DB).exists()


def test_a_sale_stock_cannot_cover_leaves_stock_alone_and_records_a_shortfall():
    covered, short = stock_up([10, 3])
    interface.reserve(pay(1), [StockLine(covered, 1), StockLine(short, 2)])
    interface.release(pay(1))
    interface.reserve("someone-else", [StockLine(short, 2)])  # took the units meanwhile

    event = purchase_completed(pay(1), [(covered, 1), (short, 2)])
    apply_event("inventory", event)
    apply_event("inventory", purchase_completed(pay(1), [(covered, 1), (short, 2)]))

    assert (stock_of(covered).on_hand, stock_of(short).on_hand, stock_of(short).reserved) == (9, 3, 2)
    shortfall = SaleShortfall.objects.using(DB).get()
    assert (shortfall.reference, shortfall.product_id, shortfall.quantity, shortfall.available) == (
        pay(1), short, 2, 1)
    assert not ledger(short, kind="sale").exists()


def test_a_batch_of_sales_applies_in_one_pass_as_one_by_one_would():
    """Active, expired, unknown and repeated references in one batch, with a refund behind its
    sale: the same stock, ledger and reservations as applying them one at a time, in a fixed
    number of statements."""
    first, second = stock_up([10, 10])
    interface.reserve(pay(1), [StockLine(first, 2)])
    interface.reserve(pay(2), [StockLine(first, 1), StockLine(second, 3)])
    interface.reserve(pay(3), [StockLine(second, 1)])
    expire_now(pay(3))
    services.release_expired_reservations()
    batch = [purchase_completed(pay(1), [(first, 2)]),
             purchase_completed(pay(2), [(first, 1), (second, 3)]),
             purchase_completed(pay(3), [(second, 1)]),  # its reservation expired
             purchase_completed(pay(4), [(first, 1)]),  # no reservation at all
             purchase_completed(pay(1), [(first, 2)]),  # re-emitted under a new id
             refunded(pay(2), [(first, 1), (second, 3)])]

    with CaptureQueriesContext(connections[DB]) as queries:
        outcome = apply_events("inventory", batch)

    assert (outcome.applied, outcome.skipped, outcome.failed) == (6, 0, {})
    assert [(stock_of(p).on_hand, stock_of(p).reserved) for p in (first, second)] == [(7, 0), (9, 0)]
    sales = sorted(ledger(first, kind="sale").values_list("reference", "delta"))
    assert sales == sorted([(pay(1), -2), (pay(2), -1), (pay(4), -1)])
    assert ledger(second, kind="sale").count() == 2 and ledger(second, kind="refund").count() == 1
    assert set(Reservation.objects.using(DB).values_list("status", flat=True)) == {"committed"}
    assert len(queries) < 40, [query["sql"][:80] for query in queries]


def test_a_sale_without_any_reservation_is_recorded_as_committed():
    [product_id] = stock_up(4)
    apply_event("inventory", purchase_completed(pay(9), [(product_id, 1)]))
    reservation = Reservation.objects.using(DB).get(reference=pay(9))
    assert reservation.status == "committed"
    assert list(reservation.lines.using(DB).values_list("product_id", "quantity")) == [(product_id, 1)]
    assert stock_of(product_id).on_hand == 3


# --- refund (payments.refunded) --------------------------------------------------------------

def test_a_refund_with_restock_puts_units_back_once():
    [product_id] = stock_up(10)
    interface.reserve(pay(1), [StockLine(product_id, 4)])
    apply_event("inventory", purchase_completed(pay(1), [(product_id, 4)]))
    event = refunded(pay(1), [(product_id, 4)])

    assert apply_event("inventory", event) is True
    assert apply_event("inventory", event) is False
    apply_event("inventory", refunded(pay(1), [(product_id, 4)]))  # published again, new id

    assert stock_of(product_id).on_hand == 10
    refund = ledger(product_id, kind="refund").get()
    assert (refund.delta, refund.reference, refund.on_hand_after) == (4, pay(1), 10)


def test_a_refund_without_restock_leaves_stock_alone():
    [product_id] = stock_up(10)
    apply_event("inventory", refunded(pay(1), [(product_id, 4)], restock=False))
    assert stock_of(product_id).on_hand == 10
    assert not ledger(product_id, kind="refund").exists()


def test_a_refund_of_a_product_without_a_record_creates_it():
    product_id = uuid.uuid4()
    apply_event("inventory", refunded(pay(1), [(product_id, 2)]))
    assert stock_of(product_id).on_hand == 2


# --- receipts ----------------------------------------------------------------------------------

def test_receiving_stock_is_idempotent_on_its_reference():
    product_ids = [uuid.uuid4(), uuid.uuid4()]
    lines = [StockLine(product_ids[0], 5), StockLine(product_ids[1], 7)]
    interface.receive_stock("delivery-1", lines, reason="Delivery")
    interface.receive_stock("delivery-1", lines, reason="Delivery")
    assert [stock_of(p).on_hand for p in product_ids] == [5, 7]
    assert list(ledger(product_ids[1]).values_list("kind", "delta", "reason", "reference")) == [
        ("receipt", 7, "Delivery", "delivery-1")]


def test_receiving_stock_for_a_catalogue_takes_a_few_queries_per_thousand_products():
    lines = [StockLine(uuid.uuid4(), 3) for _ in range(3000)]
    with CaptureQueriesContext(connections[DB]) as queries:
        interface.receive_stock("seed", lines, reason="Demo seed")
    assert len(queries) <= 25
    assert StockRecord.objects.using(DB).aggregate(total=Sum("on_hand"))["total"] == 9000
    assert OutboxEvent.objects.using(DB).filter(type="inventory.stock_changed").count() == 3000
    assert LedgerEntry.objects.using(DB).filter(kind="receipt", reference="seed").count() == 3000


# --- adjustments, ledger, events -----------------------------------------------------------------

def test_an_adjustment_cannot_take_on_hand_below_reserved():
    [product_id] = stock_up(5)
    interface.reserve(pay(1), [StockLine(product_id, 3)])
    with pytest.raises(InsufficientStock) as raised:
        services.adjust_stock(product_id, -3, "broken", actor_id=None)
    assert raised.value.extra == {"product_id": str(product_id), "available": 2}
    services.adjust_stock(product_id, -2, "broken", actor_id=None)
    assert stock_of(product_id).available == 0


def test_every_on_hand_change_has_a_ledger_row_that_adds_up():
    [product_id] = stock_up(10)
    staff = uuid.uuid4()
    services.adjust_stock(product_id, 5, "found a box", actor_id=staff)
    interface.reserve(pay(1), [StockLine(product_id, 4)])
    apply_event("inventory", purchase_completed(pay(1), [(product_id, 4)]))
    apply_event("inventory", refunded(pay(1), [(product_id, 1)]))
    services.adjust_stock(product_id, -2, "damaged", actor_id=staff)

    rows = list(ledger(product_id).order_by("created_at"))
    assert [(row.kind, row.delta) for row in rows] == [
        ("receipt", 10), ("adjustment", 5), ("sale", -4), ("refund", 1), ("adjustment", -2)]
    running = 0
    for row in rows:
        running += row.delta
        assert row.on_hand_after == running
    assert stock_of(product_id).on_hand == running == 10
    assert rows[1].actor_id == staff


def test_every_stock_change_emits_stock_changed_with_the_new_numbers():
    [product_id] = stock_up(10)
    interface.reserve(pay(1), [StockLine(product_id, 4)])
    interface.release(pay(1))
    interface.reserve(pay(2), [StockLine(product_id, 1)])
    services.commit_sale(pay(2), [])
    services.adjust_stock(product_id, -9, "lost", actor_id=None)

    assert stock_events(product_id) == [
        {"product_id": str(product_id), "on_hand": on_hand, "reserved": reserved,
         "available": on_hand - reserved}
        for on_hand, reserved in [(10, 0), (10, 4), (10, 0), (10, 1), (9, 0), (0, 0)]
    ]


def test_a_rolled_back_change_leaves_no_event():
    [product_id] = stock_up(10)
    events_before = OutboxEvent.objects.using(DB).count()
    with pytest.raises(RuntimeError), transaction.atomic(using=DB):
        services.adjust_stock(product_id, 1, "undone", actor_id=None)
        raise RuntimeError("the surrounding transaction fails")
    assert OutboxEvent.objects.using(DB).count() == events_before
    assert stock_of(product_id).on_hand == 10
    assert ledger(product_id, kind="adjustment").count() == 0


def test_an_insufficient_reservation_leaves_no_event():
    [product_id] = stock_up(1)
    events_before = OutboxEvent.objects.using(DB).count()
    with pytest.raises(InsufficientStock):
        interface.reserve(pay(1), [StockLine(product_id, 2)])
    assert OutboxEvent.objects.using(DB).count() == events_before


# --- constraints ---------------------------------------------------------------------------------

@pytest.mark.parametrize("change", [
    {"reserved": -1},
    {"reserved": 11},  # more reserved than on hand
    {"on_hand": -1},
    {"low_stock_threshold": -1},
])
def test_the_database_refuses_impossible_stock(change):
    [product_id] = stock_up(10)
    with pytest.raises(IntegrityError), transaction.atomic(using=DB):
        StockRecord.objects.using(DB).filter(product_id=product_id).update(**change)


def test_the_database_refuses_a_reservation_line_without_units():
    [product_id] = stock_up(10)
    interface.reserve(pay(1), [StockLine(product_id, 1)])
    with pytest.raises(IntegrityError), transaction.atomic(using=DB):
        ReservationLine.objects.using(DB).update(quantity=0)


# --- expiry --------------------------------------------------------------------------------------

def test_expiry_releases_only_reservations_past_their_time():
    [product_id] = stock_up(10)
    interface.reserve("old", [StockLine(product_id, 2)])
    interface.reserve("fresh", [StockLine(product_id, 3)])
    expire_now("old")

    assert services.release_expired_reservations() == 1
    assert services.release_expired_reservations() == 0
    statuses = dict(Reservation.objects.using(DB).values_list("reference", "status"))
    assert statuses == {"old": "expired", "fresh": "active"}
    assert stock_of(product_id).reserved == 3


def test_expiry_works_through_batches():
    product_ids = stock_up([5] * 3)
    for index in range(7):
        interface.reserve(pay(index), [StockLine(product_ids[index % 3], 1)], ttl_seconds=0)
    assert services.release_expired_reservations(batch_size=2) == 7
    assert [stock_of(p).reserved for p in product_ids] == [0, 0, 0]


def test_the_expiry_command_prints_how_many_it_released():
    [product_id] = stock_up(10)
    interface.reserve("old", [StockLine(product_id, 2)], ttl_seconds=0)
    out = StringIO()
    call_command("release_expired_reservations", stdout=out)
    assert out.getvalue().strip() == "Released 1 expired reservation(s)."
    assert stock_of(product_id).reserved == 0


def test_the_expiry_task_releases_and_is_scheduled_every_minute(settings):
    [product_id] = stock_up(10)
    interface.reserve("old", [StockLine(product_id, 2)], ttl_seconds=0)
    assert tasks.release_expired_reservations.apply().get() == 1
    assert settings.CELERY_BEAT_SCHEDULE["inventory.release_expired_reservations"] == {
        "task": tasks.release_expired_reservations.name, "schedule": 60.0}


@pytest.mark.django_db(databases=["inventory"], transaction=True)
def test_a_lock_timeout_is_transient_and_rolls_the_whole_batch_back():
    """Another transaction holds a stock row past our lock timeout: the batch is not poison, it
    leaves nothing behind, and it applies once the lock is gone."""
    [product_id] = stock_up(10)
    interface.reserve(pay(1), [StockLine(product_id, 2)])
    batch = [purchase_completed(pay(1), [(product_id, 2)])]
    locked, release = threading.Event(), threading.Event()

    def hold_the_row():
        with transaction.atomic(using=DB):
            StockRecord.objects.using(DB).select_for_update().get(product_id=product_id)
            locked.set()
            release.wait(30)
        connections[DB].close()

    holder = threading.Thread(target=hold_the_row)
    holder.start()
    try:
        assert locked.wait(30)
        with connections[DB].cursor() as cursor:
            cursor.execute("SET lock_timeout = '200ms'")
        with pytest.raises(OperationalError) as raised:
            apply_events("inventory", batch)
        assert is_transient(raised.value)
        assert not ProcessedEvent.objects.using(DB).exists()
    finally:
        release.set()
        holder.join(30)
        with connections[DB].cursor() as cursor:
            cursor.execute("RESET lock_timeout")

    assert apply_events("inventory", batch).applied == 1
    assert (stock_of(product_id).on_hand, stock_of(product_id).reserved) == (8, 0)
