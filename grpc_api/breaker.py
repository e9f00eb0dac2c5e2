"""A small circuit breaker: a dead dependency answers in microseconds, not after a deadline.

closed: calls go through; `failure_threshold` consecutive failures open it.
open: calls raise ServiceUnavailable at once, until `reset_timeout` seconds have passed.
half-open: one trial call goes through (others still fail fast); success closes, failure reopens.

"Failure" is a call that got no answer; the caller (grpc_api/clients/base.py) decides which.
"""

import threading
import time

from apps.common.api.errors import ServiceUnavailable

CLOSED, OPEN, HALF_OPEN = "closed", "open", "half-open"


class CircuitBreaker:
    def __init__(self, name: str, failure_threshold: int, reset_timeout: float):
        self.name = name
        self.failure_threshold = failure_threshold
        self.reset_timeout = reset_timeout
        self._lock = threading.Lock()
        self._state = CLOSED
        self._failures = 0
        self._opened_at = 0.0

    @property
    def state(self) -> str:
        return self._state

    def before_call(self):
        """Raise ServiceUnavailable unless a call may go through now."""
        with self._lock:
            if self._state == CLOSED:
                return
            # After the cool-down this caller is the trial; a trial that never reported back
            # (it raised something else) is replaced by another one a cool-down later.
            if time.monotonic() - self._opened_at >= self.reset_timeout:
                self._state, self._opened_at = HALF_OPEN, time.monotonic()
                return
            raise ServiceUnavailable(f"{self.name} is unavailable (circuit open). Nothing was changed.")

    def record_success(self):
        with self._lock:
            self._state, self._failures = CLOSED, 0

    def record_failure(self):
        with self._lock:
            self._failures += 1
            if self._state == HALF_OPEN or self._failures >= self.failure_threshold:
                self._state, self._opened_at = OPEN, time.monotonic()
