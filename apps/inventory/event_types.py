"""The events inventory publishes on `inventory.events`: the contract its consumers import.

Conventions as in `apps/payments/event_types.py` (see docs/events.md).
"""

from dataclasses import dataclass
from uuid import UUID

from apps.common.events.envelope import EventData, reading, strict_int


@dataclass(frozen=True)
class StockChanged(EventData):
    """A product's stock after a change of `on_hand` or `reserved` (`available` = the difference)."""

    TYPE = "inventory.stock_changed"

    product_id: UUID
    on_hand: int
    reserved: int
    available: int

    def to_data(self) -> dict:
        return {"product_id": str(self.product_id), "on_hand": self.on_hand, "reserved": self.reserved,
                "available": self.available}

    @classmethod
    def from_data(cls, data) -> "StockChanged":
        with reading(cls.TYPE):
            return cls(UUID(data["product_id"]), strict_int(data["on_hand"]), strict_int(data["reserved"]),
                       strict_int(data["available"]))
