"""Failed logins per email, counted in the cache (Redis where REDIS_URL is set, so the count holds
across processes).

An attempt is counted *before* the password is checked and uncounted when it succeeds, so a burst
of parallel guesses cannot slip past the limit while the others are still being checked. The
window is fixed: it starts with the first attempt and lasts LOGIN_FAILURE_WINDOW_SECONDS; once
LOGIN_MAX_FAILURES attempts have failed in it, every further attempt for that email is refused
until it ends, whatever the password. Counts are per email only, so one account's successful
login never resets another's.
"""

import contextlib
import hashlib
import math
import time

from django.conf import settings
from django.core.cache import cache

from apps.users.errors import TooManyAttempts


def reserve_attempt(email: str) -> None:
    """Count an attempt for `email` (normalised); raises TooManyAttempts when over the limit."""
    count_key, window_end_key = _keys(email)
    window = settings.LOGIN_FAILURE_WINDOW_SECONDS
    cache.add(window_end_key, time.time() + window, timeout=window)
    cache.add(count_key, 0, timeout=window)
    try:
        attempts = cache.incr(count_key)
    except ValueError:  # the window ended between add and incr: this attempt opens a new one
        cache.add(count_key, 1, timeout=window)
        attempts = 1
    if attempts > settings.LOGIN_MAX_FAILURES:
        raise TooManyAttempts(retry_after=_seconds_left(window_end_key, window))


def release_attempt(email: str) -> None:
    """The attempt succeeded (or never got to check the password): it is not a failure."""
    count_key, _ = _keys(email)
    with contextlib.suppress(ValueError):  # the window has already ended
        cache.decr(count_key)


def _keys(email: str) -> tuple[str, str]:
    digest = hashlib.sha256(email.encode()).hexdigest()
    return f"login-attempts:{digest}", f"login-window-end:{digest}"


def _seconds_left(window_end_key: str, window: int) -> int:
    window_end = cache.get(window_end_key, time.time() + window)
    return max(1, math.ceil(window_end - time.time()))
