"""Stock for inventory's own tests, set up through its services."""

import uuid
from collections.abc import Iterable

from apps.inventory import services
from apps.inventory.interface import StockLine
from apps.inventory.models import StockRecord


def stock_up(units: int | Iterable[int]) -> list[uuid.UUID]:
    """Products with `units` on hand each (one product for an int), through a receipt."""
    counts = [units] if isinstance(units, int) else list(units)
    product_ids = [uuid.uuid4() for _ in counts]
    services.receive_stock(f"receipt-{uuid.uuid4()}", [
        StockLine(product_id, count) for product_id, count in zip(product_ids, counts, strict=True)
    ], reason="test stock")
    return product_ids


def stock_of(product_id: uuid.UUID) -> StockRecord:
    return StockRecord.objects.using("inventory").get(product_id=product_id)
