from apps.common.outbox import ProcessedEventBase


class ProcessedEvent(ProcessedEventBase):
    """Events products has applied (the in-stock read model), for exactly-once effect."""
