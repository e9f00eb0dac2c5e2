"""Events products handles: inventory's stock levels feed the catalogue's `in_stock`."""

from datetime import UTC, datetime
from uuid import UUID

from apps.common.events import CloudEvent, InvalidEvent
from apps.products import services


def on_stock_changed(event: CloudEvent) -> None:
    try:
        product_id = UUID(str(event.data["product_id"]))
        available = int(event.data["available"])
        as_of = datetime.fromisoformat(event.time)
    except (KeyError, TypeError, ValueError) as exc:
        raise InvalidEvent(f"inventory.stock_changed {event.id}: {exc!r}") from None
    if as_of.tzinfo is None:
        as_of = as_of.replace(tzinfo=UTC)  # RFC 3339 requires an offset; read a bare time as UTC
    services.record_stock(product_id, available, as_of)


HANDLERS = {"inventory.stock_changed": on_stock_changed}
