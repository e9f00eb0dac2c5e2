"""What inventory does with payment events. Inventory publishes `inventory.stock_changed` from
its services, in the transaction of each stock change."""

from apps.common.events import Received
from apps.inventory import services
from apps.inventory.interface import StockLine
from apps.payments.event_types import Item, PurchaseCompleted, Refunded


def _lines(items: tuple[Item, ...]) -> list[StockLine]:
    return [StockLine(product_id=item.product_id, quantity=item.quantity) for item in items]


def on_purchases_completed(events: list[Received[PurchaseCompleted]]) -> None:
    """Each payment's reservation becomes a sale: the whole batch in one lock-ordered pass."""
    services.commit_sales((str(event.data.payment_id), _lines(event.data.items)) for event in events)


def on_refunded(events: list[Received[Refunded]]) -> None:
    """A refund with `restock` puts the units back on hand (refunds are rare: one at a time)."""
    for event in events:
        if event.data.restock:
            services.restock_refund(str(event.data.payment_id), _lines(event.data.items))


HANDLERS = {
    PurchaseCompleted: on_purchases_completed,
    Refunded: on_refunded,
}
