"""Events users handles: a receipt e-mail for each completed purchase and each refund (users owns
the shoppers' e-mail addresses)."""

from apps.common.events.envelope import Received
from apps.payments.event_types import PaymentRefunded, PurchaseCompleted
from apps.users import services


def on_purchases_completed(events: list[Received[PurchaseCompleted]]) -> None:
    services.send_purchase_receipts([event.data.to_data() for event in events])


def on_refunded(events: list[Received[PaymentRefunded]]) -> None:
    services.send_refund_receipts([event.data.to_data() for event in events])


HANDLERS = {
    PurchaseCompleted: on_purchases_completed,
    PaymentRefunded: on_refunded,
}
