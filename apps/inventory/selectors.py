"""Reads of inventory's stock."""

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from uuid import UUID

from django.db.models import F, OuterRef, Q, QuerySet, Subquery, Sum
from django.db.models.functions import Coalesce

from apps.inventory.models import DB, LedgerEntry, Reservation, ReservationLine, StockRecord


def stock_records(product_ids: Iterable[UUID]) -> dict[UUID, StockRecord]:
    """Every product's record; products inventory has never seen answer an unsaved all-zero one."""
    ids = set(product_ids)
    found = {record.product_id: record for record in StockRecord.objects.using(DB).filter(product_id__in=ids)}
    return {
        product_id: found.get(product_id) or StockRecord(product_id=product_id)
        for product_id in ids
    }


def stock_record(product_id: UUID) -> StockRecord:
    return stock_records([product_id])[product_id]


def ledger(product_id: UUID) -> QuerySet[LedgerEntry]:
    return LedgerEntry.objects.using(DB).filter(stock_id=product_id).order_by("-created_at", "-id")


def low_stock() -> QuerySet[StockRecord]:
    """Records whose available units are at or under their threshold, the emptiest first; a
    deactivated product is no longer restocked, so it is left out."""
    return (
        StockRecord.objects.using(DB)
        .exclude(product_status="inactive")
        .alias(available_units=F("on_hand") - F("reserved"))
        .filter(available_units__lte=F("low_stock_threshold"))
        .order_by("available_units", "product_id")
    )


def stock_effects(references: Iterable[str]) -> dict[str, tuple[str | None, bool]]:
    """For each payment reference: (its reservation's status or None, whether a refund restocked
    it). Two indexed queries whatever the number of references."""
    references = set(references)
    statuses = dict(
        Reservation.objects.using(DB).filter(reference__in=references).values_list("reference", "status")
    )
    restocked = set(
        LedgerEntry.objects.using(DB).filter(kind=LedgerEntry.Kind.REFUND, reference__in=references)
        .values_list("reference", flat=True).distinct()
    )
    return {reference: (statuses.get(reference), reference in restocked) for reference in references}


def count_active_reservations() -> int:
    return Reservation.objects.using(DB).filter(status=Reservation.Status.ACTIVE).count()


def count_low_stock() -> int:
    return low_stock().order_by().count()


@dataclass(frozen=True)
class StockDrift:
    """A record whose counters disagree with what they are derived from."""

    product_id: UUID
    on_hand: int
    ledger_on_hand: int  # the sum of the product's ledger
    reserved: int
    open_reserved: int  # the units of its active reservations

    def __str__(self):
        return (f"{self.product_id}: on_hand {self.on_hand} (ledger {self.ledger_on_hand}), "
                f"reserved {self.reserved} (open reservations {self.open_reserved})")


def drifted(records: QuerySet[StockRecord]) -> list[StockDrift]:
    """The `records` whose `on_hand` is not their ledger's sum or whose `reserved` is not the
    units of their active reservations; one query, whatever the number of records."""
    ledger_sum = (
        LedgerEntry.objects.filter(stock=OuterRef("pk")).order_by()
        .values("stock").annotate(total=Sum("delta")).values("total")
    )
    open_units = (
        ReservationLine.objects
        .filter(product_id=OuterRef("pk"), reservation__status=Reservation.Status.ACTIVE)
        .order_by().values("product_id").annotate(total=Sum("quantity")).values("total")
    )
    rows = (
        records.annotate(ledger_on_hand=Coalesce(Subquery(ledger_sum), 0),
                         open_reserved=Coalesce(Subquery(open_units), 0))
        .filter(~Q(on_hand=F("ledger_on_hand")) | ~Q(reserved=F("open_reserved")))
        .values_list("product_id", "on_hand", "ledger_on_hand", "reserved", "open_reserved")
    )
    return [StockDrift(*row) for row in rows]


def stock_drifts(chunk_size: int = 1000) -> Iterator[tuple[int, list[StockDrift]]]:
    """Walk every stock record in product-id order, a chunk at a time; yield per chunk how many
    records it checked and the drifts among them."""
    records = StockRecord.objects.using(DB).order_by("product_id")
    last = None
    while True:
        chunk = records.filter(product_id__gt=last) if last else records
        ids = list(chunk.values_list("product_id", flat=True)[:chunk_size])
        if not ids:
            return
        yield len(ids), drifted(records.filter(product_id__in=ids))
        last = ids[-1]
