"""What inventory does with payment events. Inventory publishes `inventory.stock_changed` from
its services, in the transaction of each stock change."""

from uuid import UUID

from apps.common.events import CloudEvent
from apps.inventory import services
from apps.inventory.interface import StockLine


def _lines(items: list[dict]) -> list[StockLine]:
    return [StockLine(product_id=UUID(str(item["product_id"])), quantity=int(item["quantity"]))
            for item in items]


def on_purchase_completed(event: CloudEvent) -> None:
    """The reservation made for the payment becomes a sale."""
    services.commit_sale(str(event.data["payment_id"]), _lines(event.data["items"]))


def on_refunded(event: CloudEvent) -> None:
    """A refund with `restock` puts the units back on hand."""
    if event.data.get("restock"):
        services.restock_refund(str(event.data["payment_id"]), _lines(event.data["items"]))


HANDLERS = {
    "payments.purchase_completed": on_purchase_completed,
    "payments.refunded": on_refunded,
}
