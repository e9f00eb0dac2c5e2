"""Writes to inventory's stock. Each function is one transaction on the inventory database.

Stock rows are always locked in ascending product-id order, so two transactions that touch
overlapping products wait for each other instead of deadlocking. Every change of `on_hand`
writes a ledger row, and every change of `on_hand` or `reserved` emits
`inventory.stock_changed` in the same transaction.
"""

import logging
from collections.abc import Iterable
from datetime import datetime, timedelta
from functools import partial
from uuid import UUID

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

from apps.common import prefetch
from apps.common.api.errors import DomainError
from apps.common.bulk import update_rows
from apps.common.events.outbox import emit_many
from apps.common.observability import metrics
from apps.inventory import selectors
from apps.inventory.errors import InsufficientStock, InvalidQuantity, UnreconcilableStock, ZeroAdjustment
from apps.inventory.event_types import StockChanged
from apps.inventory.interface import StockLine
from apps.inventory.models import (
    DB,
    LedgerEntry,
    Reservation,
    ReservationLine,
    SaleShortfall,
    StockRecord,
)
from apps.products.event_types import ProductChanged
from apps.products.interface import ProductInfo

logger = logging.getLogger(__name__)

# Rows per query in bulk operations (receiving stock for a whole catalogue).
CHUNK_SIZE = 1000

Kind = LedgerEntry.Kind
Status = Reservation.Status


def reserve(reference: str, lines: Iterable[StockLine], ttl_seconds: int | None = None) -> Reservation:
    """Reserve every line or none, in one short transaction that locks the stock rows last (held
    for their update, the event and the commit). A reference seen before answers its reservation
    unchanged."""
    quantities = _quantities(lines)
    if not quantities:
        raise InvalidQuantity("A reservation needs at least one line.")
    ttl = settings.RESERVATION_TTL_SECONDS if ttl_seconds is None else ttl_seconds
    try:
        # The insert comes first: a reference seen before fails it before anything was written.
        with transaction.atomic(using=DB):
            reservation = Reservation.objects.using(DB).create(
                reference=reference, expires_at=timezone.now() + timedelta(seconds=ttl),
            )
            _add_lines(reservation, quantities)
            records = _locked_records(quantities, create_missing=False)
            for product_id, quantity in quantities.items():
                record = records.get(product_id)
                available = record.available if record else 0
                if available < quantity:
                    raise InsufficientStock(
                        f"Only {available} unit(s) of product {product_id} available, {quantity} requested.",
                        product_id=str(product_id), available=available,
                    )
                record.reserved += quantity
            _save_and_announce(records.values())
    except IntegrityError:
        # Seen before (a retry), or a concurrent call with it committed first.
        seen = Reservation.objects.using(DB).filter(reference=reference).first()
        if seen is None:
            raise
        return seen
    return reservation


def release(reference: str) -> None:
    """Give an active reservation's units back; anything else is a no-op."""
    with transaction.atomic(using=DB):
        reservation = Reservation.objects.using(DB).select_for_update().filter(reference=reference).first()
        if reservation is not None and reservation.status == Status.ACTIVE:
            _give_back([reservation], Status.RELEASED)


def release_expired_reservations(batch_size: int = 500) -> int:
    """Expire every active reservation past its `expires_at`; return how many.

    Reservations another transaction holds (being committed or released) are skipped: that
    transaction decides their fate.
    """
    expired = 0
    while True:
        with transaction.atomic(using=DB):
            batch = list(
                Reservation.objects.using(DB).select_for_update(skip_locked=True)
                .filter(status=Status.ACTIVE, expires_at__lte=timezone.now())
                .order_by("expires_at")[:batch_size]
            )
            if not batch:
                return expired
            _give_back(batch, Status.EXPIRED)
            transaction.on_commit(partial(metrics.RESERVATIONS_EXPIRED.inc, len(batch)), using=DB)
        expired += len(batch)


def commit_sale(reference: str, lines: Iterable[StockLine]) -> None:
    """Turn the reservation `reference` into a sale (see `commit_sales`)."""
    commit_sales([(reference, lines)])


def commit_sales(sales: Iterable[tuple[str, Iterable[StockLine]]]) -> None:
    """Turn each sale's reservation into a sale: `on_hand` and `reserved` drop, ledger `sale`; all
    in one transaction and one lock-ordered pass (reservations by reference, then stock rows by
    product id), so a batch of events costs a handful of statements.

    When a reservation is no longer active (it expired or was released before the payment's
    event arrived) the sold lines are taken from available stock where it suffices; a line it
    cannot cover leaves stock untouched and is recorded as a `SaleShortfall` for an operator.
    Committing a reference twice changes stock once.
    """
    wanted: dict[str, dict[UUID, int]] = {}
    for reference, lines in sales:
        wanted.setdefault(reference, _quantities(lines))
    with transaction.atomic(using=DB):
        reservations = {
            reservation.reference: reservation for reservation in Reservation.objects.using(DB)
            .select_for_update().filter(reference__in=sorted(wanted)).order_by("reference")
        }
        active = [r for r in reservations.values() if r.status == Status.ACTIVE]
        reserved: dict[str, dict[UUID, int]] = {reservation.reference: {} for reservation in active}
        references = {reservation.pk: reservation.reference for reservation in active}
        lines = ReservationLine.objects.using(DB).filter(reservation__in=active)
        for reservation_id, product_id, quantity in lines.values_list(
                "reservation_id", "product_id", "quantity"):
            reserved[references[reservation_id]][product_id] = quantity
        lapsed = {reference: quantities for reference, quantities in sorted(wanted.items())
                  if reference not in reserved and getattr(reservations.get(reference), "status", None)
                  != Status.COMMITTED}
        product_ids = {product_id for quantities in (*reserved.values(), *lapsed.values())
                       for product_id in quantities}
        records = _locked_records(product_ids, create_missing=False)
        entries, shortfalls, touched = [], [], set()
        for reference, quantities in sorted(reserved.items()):
            for product_id, quantity in quantities.items():
                record = records[product_id]
                record.on_hand -= quantity
                record.reserved -= quantity
                touched.add(product_id)
                entries.append(LedgerEntry(
                    stock=record, kind=Kind.SALE, delta=-quantity, reason="Sale", reference=reference,
                    on_hand_after=record.on_hand,
                ))
        for reference, quantities in lapsed.items():
            reservation = reservations.get(reference)
            lapse = f"reservation {reservation.status}" if reservation else "no reservation"
            for product_id, quantity in quantities.items():
                record = records.get(product_id)
                available = record.available if record else 0
                if available < quantity:
                    logger.warning(
                        "Sale %s (%s): %d unit(s) of product %s sold but only %d available; stock left "
                        "unchanged, shortfall recorded.", reference, lapse, quantity, product_id, available,
                    )
                    shortfalls.append(SaleShortfall(reference=reference, product_id=product_id,
                                                    quantity=quantity, available=available))
                    continue
                record.on_hand -= quantity
                touched.add(product_id)
                entries.append(LedgerEntry(
                    stock=record, kind=Kind.SALE, delta=-quantity, reference=reference,
                    reason=f"Sale ({lapse})", on_hand_after=record.on_hand,
                ))
        unknown = [reference for reference in lapsed if reference not in reservations]
        created = Reservation.objects.using(DB).bulk_create(
            Reservation(reference=reference, status=Status.COMMITTED, expires_at=timezone.now())
            for reference in unknown
        )
        ReservationLine.objects.using(DB).bulk_create(
            ReservationLine(reservation=reservation, product_id=product_id, quantity=quantity)
            for reservation in created for product_id, quantity in lapsed[reservation.reference].items()
        )
        sold = [reservations[reference].pk for reference in (*reserved, *lapsed) if reference in reservations]
        Reservation.objects.using(DB).filter(pk__in=sold).update(
            status=Status.COMMITTED, updated_at=timezone.now())
        SaleShortfall.objects.using(DB).bulk_create(shortfalls)
        _write_ledger(entries)
        _save_and_announce(records[product_id] for product_id in sorted(touched))


def restock_refund(reference: str, lines: Iterable[StockLine], actor_id: UUID | None = None,
                   actor_email: str = "") -> None:
    """Put refunded units back on hand (ledger `refund`, naming the staff who refunded), once
    per reference."""
    _add_on_hand(Kind.REFUND, reference, _quantities(lines), reason="Refund restock",
                 actor_id=actor_id, actor_email=actor_email)


def receive_stock(reference: str, lines: Iterable[StockLine], reason: str) -> None:
    """Add received units on hand (ledger `receipt`), once per reference, in bulk."""
    if not reference:
        raise DomainError("A receipt needs a reference, so that repeating it changes stock once.")
    _add_on_hand(Kind.RECEIPT, reference, _quantities(lines), reason=reason)


def record_products(changes: Iterable[tuple[ProductChanged, datetime]]) -> None:
    """Apply catalogue changes, each with the time it happened, in one transaction.

    A product seen for the first time gets its stock record (zero units), so it shows in
    low-stock lists before any stock arrives. A change older than the one a record holds (a
    late or re-delivered event) is ignored, so applying any batch twice, in any order, is a no-op.
    """
    newest: dict[UUID, tuple[ProductChanged, datetime]] = {}
    for change, as_of in changes:
        if change.product_id not in newest or as_of > newest[change.product_id][1]:
            newest[change.product_id] = (change, as_of)
    if not newest:
        return
    with transaction.atomic(using=DB):
        StockRecord.objects.using(DB).bulk_create([
            StockRecord(product_id=product_id, sku=change.sku, name=change.name, product_status=change.status,
                        product_as_of=as_of)
            for product_id, (change, as_of) in newest.items()
        ], ignore_conflicts=True, batch_size=CHUNK_SIZE)
        records = _locked_records(newest, create_missing=False)
        stale = []
        for product_id, (change, as_of) in newest.items():
            record = records[product_id]
            if record.product_as_of is None or record.product_as_of < as_of:
                record.sku, record.name, record.product_status = change.sku, change.name, change.status
                record.product_as_of = as_of
                stale.append(record)
        update_rows(StockRecord, "product_id", ["sku", "name", "product_status", "product_as_of"],
                    [(record.product_id, record.sku, record.name, record.product_status, record.product_as_of)
                     for record in stale], using=DB)


def create_stock_record(product: ProductInfo, on_hand: int, reason: str, actor_id: UUID | None,
                        actor_email: str = "") -> LedgerEntry:
    """The first units of a product the catalogue knows (staff adding stock by hand)."""
    with transaction.atomic(using=DB):
        record = _locked_records([product.id], create_missing=True)[product.id]
        if record.product_as_of is None:  # no product event yet: take the catalogue's answer
            record.sku, record.name = product.sku, product.name
            record.product_status = "active" if product.is_active else "inactive"
            record.save(using=DB, update_fields=["sku", "name", "product_status"])
        return adjust_stock(product.id, on_hand, reason, actor_id, actor_email)


def check_delta(delta: int) -> int:
    """An adjustment must change stock. Forms check it with this before they call `adjust_stock`."""
    if delta == 0:
        raise ZeroAdjustment()
    return delta


def adjust_stock(product_id: UUID, delta: int, reason: str, actor_id: UUID | None,
                 actor_email: str = "") -> LedgerEntry:
    """A staff correction of `on_hand`. It may not take `on_hand` below `reserved` (or 0)."""
    check_delta(delta)
    with transaction.atomic(using=DB):
        record = _locked_records([product_id], create_missing=True)[product_id]
        if record.on_hand + delta < record.reserved:
            raise InsufficientStock(
                f"Cannot remove {-delta} unit(s): {record.on_hand} on hand, {record.reserved} reserved.",
                product_id=str(product_id), available=record.available,
            )
        record.on_hand += delta
        entry = LedgerEntry.objects.using(DB).create(
            stock=record, kind=Kind.ADJUSTMENT, delta=delta, reason=reason, actor_id=actor_id,
            actor_email=actor_email, on_hand_after=record.on_hand,
        )
        _save_and_announce([record])
    return entry


def reconcile_stock(product_id: UUID) -> selectors.StockDrift | None:
    """Set a record's `on_hand` to its ledger's sum and `reserved` to its active reservations'
    units; answer the drift it corrected, or None when there was none.

    The ledger is the truth for `on_hand`, so the ledger entry that records the correction has
    delta 0: the ledger's sum stays equal to `on_hand`, and a second run finds nothing to do.
    """
    with transaction.atomic(using=DB):
        records = _locked_records([product_id], create_missing=False)
        if product_id not in records:
            return None
        # Reservations and the ledger change only under this row's lock: the sums hold still.
        drifts = selectors.drifted(StockRecord.objects.using(DB).filter(product_id=product_id))
        if not drifts:
            return None
        drift = drifts[0]
        if drift.ledger_on_hand < drift.open_reserved:
            raise UnreconcilableStock(f"{drift}: the ledger cannot cover the reservations.",
                                      product_id=str(product_id))
        record = records[product_id]
        record.on_hand, record.reserved = drift.ledger_on_hand, drift.open_reserved
        LedgerEntry.objects.using(DB).create(
            stock=record, kind=Kind.ADJUSTMENT, delta=0, on_hand_after=record.on_hand,
            reason=f"reconcile: on_hand {drift.on_hand} -> {drift.ledger_on_hand}, "
                   f"reserved {drift.reserved} -> {drift.open_reserved}",
        )
        _save_and_announce([record])
    return drift


def set_low_stock_threshold(product_id: UUID, low_stock_threshold: int) -> StockRecord:
    with transaction.atomic(using=DB):
        record = _locked_records([product_id], create_missing=True)[product_id]
        record.low_stock_threshold = low_stock_threshold
        record.save(using=DB, update_fields=["low_stock_threshold", "updated_at"])
    return record


def _quantities(lines: Iterable[StockLine]) -> dict[UUID, int]:
    """Quantity per product (repeated products summed), in the order the lines name them."""
    quantities: dict[UUID, int] = {}
    for line in lines:
        if isinstance(line.quantity, bool) or not isinstance(line.quantity, int) or line.quantity < 1:
            raise InvalidQuantity(f"Invalid quantity {line.quantity!r} for product {line.product_id}.")
        product_id = UUID(str(line.product_id))
        quantities[product_id] = quantities.get(product_id, 0) + line.quantity
    return quantities


def _locked_records(product_ids: Iterable[UUID], *, create_missing: bool) -> dict[UUID, StockRecord]:
    """Lock the stock rows of `product_ids` in ascending id order; missing ones are absent
    from the answer unless `create_missing`."""
    ids = sorted(set(product_ids))
    records = StockRecord.objects.using(DB)
    if create_missing:
        records.bulk_create([StockRecord(product_id=product_id) for product_id in ids],
                            ignore_conflicts=True, batch_size=CHUNK_SIZE)
    locked: dict[UUID, StockRecord] = {}
    for start in range(0, len(ids), CHUNK_SIZE):
        chunk = records.select_for_update().filter(product_id__in=ids[start:start + CHUNK_SIZE])
        locked.update((record.product_id, record) for record in chunk.order_by("product_id"))
    return locked


def _save_and_announce(records: Iterable[StockRecord]) -> None:
    records = list(records)
    now = timezone.now()
    for record in records:
        record.updated_at = now
    update_rows(StockRecord, "product_id", ["on_hand", "reserved", "updated_at"],
                [(record.product_id, record.on_hand, record.reserved, now) for record in records], using=DB)
    emit_many(DB, [
        (StockChanged.TYPE, StockChanged(record.product_id, record.on_hand, record.reserved,
                                         record.available).to_data(), str(record.product_id))
        for record in records
    ])


def _add_lines(reservation: Reservation, quantities: dict[UUID, int]) -> None:
    lines = ReservationLine.objects.using(DB).bulk_create(
        ReservationLine(reservation=reservation, product_id=product_id, quantity=quantity)
        for product_id, quantity in quantities.items()
    )
    prefetch.hold(reservation, "lines", lines)


def _write_ledger(entries: list[LedgerEntry]) -> None:
    LedgerEntry.objects.using(DB).bulk_create(entries, batch_size=CHUNK_SIZE)


def _give_back(reservations: list[Reservation], status: str) -> None:
    """Return locked active reservations' units to available stock and close them."""
    quantities: dict[UUID, int] = {}
    lines = ReservationLine.objects.using(DB).filter(reservation__in=reservations)
    for product_id, quantity in lines.values_list("product_id", "quantity"):
        quantities[product_id] = quantities.get(product_id, 0) + quantity
    records = _locked_records(quantities, create_missing=False)
    for product_id, quantity in quantities.items():
        records[product_id].reserved -= quantity
    _save_and_announce(records.values())
    Reservation.objects.using(DB).filter(pk__in=[reservation.pk for reservation in reservations]).update(
        status=status, updated_at=timezone.now(),
    )


def _add_on_hand(kind: str, reference: str, quantities: dict[UUID, int], reason: str,
                 actor_id: UUID | None = None, actor_email: str = "") -> None:
    applied = LedgerEntry.objects.using(DB).filter(kind=kind, reference=reference)
    if applied.exists():
        return
    with transaction.atomic(using=DB):
        records = _locked_records(quantities, create_missing=True)
        # Asked again once the locks are held: a concurrent twin may have committed meanwhile.
        if applied.exists():
            return
        entries = []
        for product_id in sorted(quantities):
            record = records[product_id]
            record.on_hand += quantities[product_id]
            entries.append(LedgerEntry(
                stock=record, kind=kind, delta=quantities[product_id], reason=reason,
                reference=reference, actor_id=actor_id, actor_email=actor_email,
                on_hand_after=record.on_hand,
            ))
        _write_ledger(entries)
        _save_and_announce(records.values())
