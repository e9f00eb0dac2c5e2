"""Cache of the public catalogue's responses, invalidated by a generation number.

Every cached entry's key carries the catalogue generation, a number kept in the shared cache
(Redis) and bumped after every committed write (staff edits and `in_stock` changes). The next
read in any process sharing that cache builds a key nobody has filled yet, so it reads the
database. Readers fetch the generation before they query, so a response cached while a write
commits can only be filed under the old generation.
"""

import logging
import time
from collections.abc import Callable

from django.conf import settings
from django.core.cache import cache
from django.db import transaction

logger = logging.getLogger(__name__)

GENERATION_KEY = "products:catalogue-generation"
# Bounds staleness if a bump is ever lost (the cache was unreachable just after a commit).
ENTRY_TIMEOUT_SECONDS = 300


def generation() -> int:
    current = cache.get(GENERATION_KEY)
    if current is None:
        # Start from the clock, never from 1: after an eviction the new generation cannot
        # collide with one whose entries are still cached.
        cache.add(GENERATION_KEY, time.time_ns(), timeout=None)
        current = cache.get(GENERATION_KEY)
    return current


def bump() -> None:
    try:
        generation()
        cache.incr(GENERATION_KEY)
    except Exception:
        logger.exception("could not invalidate the catalogue cache; entries expire on their own")


def invalidate_on_commit() -> None:
    """Call inside the write's transaction: readers see the change once it is committed."""
    transaction.on_commit(bump, using="products")


def cached(name: str, compute: Callable[[], object]):
    """The value cached under `name` for the current generation, computing it on a miss.

    The cache is an accelerator: when it cannot be reached, the value is computed every time.
    Without Redis (the embedded default) nothing is cached: a per-process memory cache would
    let one worker serve what another worker's write has changed.
    """
    if not settings.REDIS_URL:
        return compute()
    try:
        key = f"products:{generation()}:{name}"
        value = cache.get(key)
    except Exception:
        logger.warning("catalogue cache unreachable; serving uncached", exc_info=True)
        return compute()
    if value is None:
        value = compute()
        try:
            cache.set(key, value, timeout=ENTRY_TIMEOUT_SECONDS)
        except Exception:
            logger.warning("catalogue cache unreachable; not storing", exc_info=True)
    return value
