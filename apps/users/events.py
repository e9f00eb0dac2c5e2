"""Events users handles: a receipt e-mail for each completed purchase and each refund (users owns
the shoppers' e-mail addresses)."""

from apps.common.events import CloudEvent
from apps.users import services


def on_purchase_completed(event: CloudEvent) -> None:
    services.send_purchase_receipt(event.data)


def on_refunded(event: CloudEvent) -> None:
    services.send_refund_receipt(event.data)


HANDLERS = {
    "payments.purchase_completed": on_purchase_completed,
    "payments.refunded": on_refunded,
}
