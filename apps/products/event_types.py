"""The typed contract of what products publishes on `products.events` (consumers import it)."""

from dataclasses import dataclass
from uuid import UUID

from apps.common.events.envelope import EventData, InvalidEvent, reading

STATUSES = ("active", "inactive")


@dataclass(frozen=True)
class ProductChanged(EventData):
    """A product was created, updated or deactivated: what other apps keep of it."""

    TYPE = "products.product_changed"

    product_id: UUID
    sku: str
    name: str
    status: str  # "active" | "inactive"

    def to_data(self) -> dict:
        return {"product_id": str(self.product_id), "sku": self.sku, "name": self.name,
                "status": self.status}

    @classmethod
    def from_data(cls, data: dict) -> "ProductChanged":
        with reading(cls.TYPE):
            change = cls(product_id=UUID(str(data["product_id"])), sku=data["sku"], name=data["name"],
                         status=data["status"])
        if not isinstance(change.sku, str) or not change.sku or not isinstance(change.name, str):
            raise InvalidEvent(f"{cls.TYPE}: sku and name must be strings")
        if change.status not in STATUSES:
            raise InvalidEvent(f"{cls.TYPE}: unknown status {change.status!r}")
        return change
