from apps.common.outbox import OutboxEventBase


class OutboxEvent(OutboxEventBase):
    """payments.* events, committed with the payment they describe."""
