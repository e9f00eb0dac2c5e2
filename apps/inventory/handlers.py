"""What inventory does with payment and product events. Inventory publishes
`inventory.stock_changed` from its services, in the transaction of each stock change."""

from apps.common.events.envelope import Received
from apps.inventory import services
from apps.inventory.interface import StockLine
from apps.payments.event_types import Item, PaymentRefunded, PurchaseCompleted
from apps.products.event_types import ProductChanged


def _lines(items: tuple[Item, ...]) -> list[StockLine]:
    return [StockLine(product_id=item.product_id, quantity=item.quantity) for item in items]


def on_purchases_completed(events: list[Received[PurchaseCompleted]]) -> None:
    """Each payment's reservation becomes a sale: the whole batch in one lock-ordered pass."""
    services.commit_sales((str(event.data.payment_id), _lines(event.data.items)) for event in events)


def on_refunded(events: list[Received[PaymentRefunded]]) -> None:
    """A refund with `restock` puts the units back on hand, naming the staff who refunded (refunds
    are rare: one at a time)."""
    for event in events:
        if event.data.restock:
            services.restock_refund(str(event.data.payment_id), _lines(event.data.items),
                                    actor_id=event.data.actor_id, actor_email=event.data.actor_email)


def on_products_changed(events: list[Received[ProductChanged]]) -> None:
    """Every product gets its stock record and its SKU, name and status, the whole batch at once;
    the event's time orders changes that arrive out of order."""
    services.record_products([(event.data, event.time) for event in events])


HANDLERS = {
    PurchaseCompleted: on_purchases_completed,
    PaymentRefunded: on_refunded,
    ProductChanged: on_products_changed,
}
