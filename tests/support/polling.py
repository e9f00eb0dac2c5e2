"""Waiting for something that happens in another thread or process (an event applied, a server
back up): poll until it is true, fail with what was awaited. Never a fixed sleep."""

import time
from collections.abc import Callable


def wait_until(predicate: Callable[[], object], what: str | Callable[[], str] = "condition", *,
               timeout: float = 60.0, interval: float = 0.2):
    """Call `predicate` until it returns something true, and return that. After `timeout` seconds,
    AssertionError naming `what` (a callable is asked then, so it can describe the last state)."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"not true after {timeout}s: {what() if callable(what) else what}")
        time.sleep(interval)
