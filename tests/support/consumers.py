"""An app's event consumer run in a thread of the test process."""

import threading
from contextlib import contextmanager

from apps.common.events.consumers import EventConsumer


@contextmanager
def running_consumer(app: str = "inventory", lag_interval: float = 10.0):
    """An EventConsumer in a thread of this process; stopped (and checked) on exit."""
    consumer = EventConsumer(app, lag_interval=lag_interval)
    failure = []

    def run():
        try:
            consumer.run()
        except Exception as exc:  # surfaced to the test below
            failure.append(exc)

    thread = threading.Thread(target=run, daemon=True)
    thread.start()
    try:
        yield consumer
    finally:
        consumer.stop()
        thread.join(30)
    assert not thread.is_alive(), "consumer did not stop"
    assert not failure, failure
