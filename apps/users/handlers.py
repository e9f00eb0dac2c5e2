"""Events users handles: a receipt e-mail for each completed purchase and each refund (users owns
the shoppers' e-mail addresses)."""

from apps.common.events import Received
from apps.payments.event_types import PaymentRefunded, PurchaseCompleted
from apps.users import services


def on_purchases_completed(events: list[Received[PurchaseCompleted]]) -> None:
    for event in events:
        services.send_purchase_receipt(event.data.to_data())


def on_refunded(events: list[Received[PaymentRefunded]]) -> None:
    for event in events:
        services.send_refund_receipt(event.data.to_data())


HANDLERS = {
    PurchaseCompleted: on_purchases_completed,
    PaymentRefunded: on_refunded,
}
