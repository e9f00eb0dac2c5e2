"""What inventory does with payment and product events. Inventory publishes
`inventory.stock_changed` from its services, in the transaction of each stock change."""

from datetime import UTC, datetime
from uuid import UUID

from apps.common.events import CloudEvent, InvalidEvent
from apps.inventory import services
from apps.inventory.interface import StockLine
from apps.products.event_types import ProductChanged


def _lines(items: list[dict]) -> list[StockLine]:
    return [StockLine(product_id=UUID(str(item["product_id"])), quantity=int(item["quantity"]))
            for item in items]


def _time(event: CloudEvent) -> datetime:
    try:
        at = datetime.fromisoformat(event.time)
    except (TypeError, ValueError) as exc:
        raise InvalidEvent(f"{event.type} {event.id}: bad time {exc!r}") from None
    return at if at.tzinfo else at.replace(tzinfo=UTC)  # RFC 3339 requires an offset; bare is UTC


def on_purchase_completed(event: CloudEvent) -> None:
    """The reservation made for the payment becomes a sale."""
    services.commit_sale(str(event.data["payment_id"]), _lines(event.data["items"]))


def on_refunded(event: CloudEvent) -> None:
    """A refund with `restock` puts the units back on hand, naming the staff who refunded."""
    if event.data.get("restock"):
        actor_id = event.data.get("actor_id")
        services.restock_refund(str(event.data["payment_id"]), _lines(event.data["items"]),
                                actor_id=UUID(actor_id) if actor_id else None,
                                actor_email=event.data.get("actor_email") or "")


def on_product_changed(event: CloudEvent) -> None:
    services.record_products([(ProductChanged.from_data(event.data), _time(event))])


HANDLERS = {
    "payments.purchase_completed": on_purchase_completed,
    "payments.refunded": on_refunded,
    ProductChanged.TYPE: on_product_changed,
}
