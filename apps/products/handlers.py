"""Events products handles: inventory's stock levels feed the catalogue's `in_stock`."""

from apps.common.events.envelope import Received
from apps.inventory.event_types import StockChanged
from apps.products import services


def on_stock_changed(events: list[Received[StockChanged]]) -> None:
    """The batch's newest level per product, in one pass (the event time orders the reports)."""
    services.record_stocks((event.data.product_id, event.data.available, event.time) for event in events)


HANDLERS = {StockChanged: on_stock_changed}
