"""Loops that run for the life of a worker (the outbox relays, the event consumers), each in a
daemon thread that starts its loop again after a crash."""

import logging
import random
import threading

logger = logging.getLogger(__name__)

MAX_BACKOFF_SECONDS = 30.0  # between two attempts of a loop that waits for a dependency


def backoff(failures: int, base: float) -> float:
    """Seconds to wait after `failures` in a row: exponential from `base`, capped, with jitter
    (0.5x to 1.5x), so loops of many processes do not retry a dependency in step."""
    ceiling = min(base * 2 ** (failures - 1), MAX_BACKOFF_SECONDS)
    return ceiling * random.uniform(0.5, 1.5)  # noqa: S311 (jitter, not a secret)


class BackgroundLoop:
    """One app's loop: `run()` until `stop()`. `kind` names its thread and its log lines."""

    kind = "loop"

    def __init__(self, app: str):
        self.app = app
        self.ready = threading.Event()
        self._stopping = threading.Event()

    def stop(self) -> None:
        self._stopping.set()

    @property
    def stopping(self) -> bool:
        return self._stopping.is_set()

    def run(self) -> None:
        raise NotImplementedError

    def run_forever(self, restart_pause: float = 5.0) -> None:
        """`run`, started again after a crash (a dependency unreachable at start, a fatal error)."""
        while not self.stopping:
            try:
                self.run()
            except Exception:
                logger.exception("%s %s crashed; restarting", self.kind, self.app)
                self._stopping.wait(restart_pause)


def start_in_threads(loops: list[BackgroundLoop]) -> list[threading.Thread]:
    """Run each loop in a daemon thread."""
    threads = []
    for loop in loops:
        thread = threading.Thread(target=loop.run_forever, name=f"{loop.kind}-{loop.app}", daemon=True)
        thread.start()
        threads.append(thread)
    return threads
