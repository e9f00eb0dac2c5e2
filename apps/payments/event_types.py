"""The events payments publishes on `payments.events`: the contract its consumers import.

Each type is a frozen dataclass with its `TYPE`, `to_data()` (the JSON `data` of the CloudEvent)
and `from_data()` (raises `InvalidEvent` on data that does not fit). Unknown keys are ignored, so
a field added later does not break an older consumer.
"""

from dataclasses import dataclass
from decimal import Decimal
from uuid import UUID

from apps.common.events.envelope import EventData, reading, strict_bool, strict_int


@dataclass(frozen=True)
class Item:
    product_id: UUID
    quantity: int
    unit_price: Decimal
    # The line's snapshot of the catalogue at purchase time, for the shopper's receipt; "" in
    # events published before payments recorded it (and absent from their data).
    name: str = ""
    sku: str = ""

    def to_data(self) -> dict:
        data = {"product_id": str(self.product_id), "quantity": self.quantity,
                "unit_price": str(self.unit_price)}
        snapshot = {key: value for key, value in (("name", self.name), ("sku", self.sku)) if value}
        return {**data, **snapshot}

    @classmethod
    def from_data(cls, data: dict) -> "Item":
        quantity = strict_int(data["quantity"])
        if quantity < 1:
            raise ValueError(f"quantity {quantity} is below 1")
        return cls(UUID(data["product_id"]), quantity, Decimal(data["unit_price"]),
                   name=str(data.get("name") or ""), sku=str(data.get("sku") or ""))


def _items(data) -> tuple[Item, ...]:
    if not isinstance(data, list) or not data:
        raise ValueError("items must be a non-empty list")
    return tuple(Item.from_data(item) for item in data)


@dataclass(frozen=True)
class PurchaseCompleted(EventData):
    """A payment succeeded: its reservation becomes a sale."""

    TYPE = "payments.purchase_completed"

    payment_id: UUID
    user_id: UUID
    items: tuple[Item, ...]
    amount: Decimal
    currency: str

    def to_data(self) -> dict:
        return {"payment_id": str(self.payment_id), "user_id": str(self.user_id),
                "items": [item.to_data() for item in self.items], "amount": str(self.amount),
                "currency": self.currency}

    @classmethod
    def from_data(cls, data) -> "PurchaseCompleted":
        with reading(cls.TYPE):
            return cls(UUID(data["payment_id"]), UUID(data["user_id"]), _items(data["items"]),
                       Decimal(data["amount"]), str(data["currency"]))


@dataclass(frozen=True)
class PaymentRefunded(EventData):
    """A succeeded payment was refunded in full; with `restock` its units go back on hand."""

    TYPE = "payments.refunded"

    payment_id: UUID
    items: tuple[Item, ...]
    restock: bool
    # For the shopper's receipt; absent from refunds published before they were added.
    user_id: UUID | None = None
    amount: Decimal | None = None
    currency: str | None = None
    # The staff user who refunded it, for the ledger; None for a refund the gateway reported.
    actor_id: UUID | None = None
    actor_email: str = ""

    def to_data(self) -> dict:
        data = {"payment_id": str(self.payment_id), "items": [item.to_data() for item in self.items],
                "restock": self.restock}
        if self.user_id is not None:
            data.update(user_id=str(self.user_id), amount=str(self.amount), currency=self.currency)
        return {**data, "actor_id": str(self.actor_id) if self.actor_id else None,
                "actor_email": self.actor_email}

    @classmethod
    def from_data(cls, data) -> "PaymentRefunded":
        with reading(cls.TYPE):
            receipt = (UUID(data["user_id"]), Decimal(data["amount"]), str(data["currency"])) \
                if "user_id" in data else (None, None, None)
            actor_id = data.get("actor_id")
            return cls(UUID(data["payment_id"]), _items(data["items"]), strict_bool(data["restock"]),
                       *receipt, actor_id=UUID(actor_id) if actor_id else None,
                       actor_email=str(data.get("actor_email") or ""))
