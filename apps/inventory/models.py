from apps.common.outbox import OutboxEventBase, ProcessedEventBase


class OutboxEvent(OutboxEventBase):
    """inventory.* events, committed with the stock change they describe."""


class ProcessedEvent(ProcessedEventBase):
    """Payment events inventory has applied (sales, refunds), for exactly-once effect."""
