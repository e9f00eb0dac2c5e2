"""Reads of inventory's stock."""

from collections.abc import Iterable
from uuid import UUID

from django.db.models import F, QuerySet

from apps.inventory.models import Reservation, StockAdjustment, StockRecord

DB = "inventory"


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


def ledger(product_id: UUID) -> QuerySet[StockAdjustment]:
    return StockAdjustment.objects.using(DB).filter(stock_id=product_id).order_by("-created_at", "-id")


def low_stock() -> QuerySet[StockRecord]:
    """Records whose available units are at or under their threshold, the emptiest first."""
    return (
        StockRecord.objects.using(DB)
        .alias(available_units=F("on_hand") - F("reserved"))
        .filter(available_units__lte=F("low_stock_threshold"))
        .order_by("available_units", "product_id")
    )


def count_active_reservations() -> int:
    return Reservation.objects.using(DB).filter(status=Reservation.Status.ACTIVE).count()


def count_low_stock() -> int:
    return low_stock().order_by().count()
