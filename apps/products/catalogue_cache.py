"""Cache of the public catalogue's rendered responses, invalidated by a generation number.

Every cached entry's key carries the catalogue generation, a number kept in the shared cache
(Redis) and bumped after every committed write (staff edits and `in_stock` changes). The next
read in any process sharing that cache builds a key nobody has filled yet, so it reads the
database. A read fetches the generation and its entry in one round trip (a Lua script), so a
response cached while a write commits can only be filed under the old generation.

Entries are the response bytes with their strong ETag, so a hit renders nothing. Their names come
from parsed, validated, canonical parameters only (see the views), so the number of keys is
bounded by real filter combinations; they live under `products:`, apart from other keys in the
cache (throttle counters, login attempts). A list's `count` is cached beside its pages per
generation, so paging through a result does not count the table again.
"""

import functools
import hashlib
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass

from django.conf import settings
from django.core.cache import cache
from django.db import transaction
from rest_framework.renderers import JSONRenderer

from apps.products.models import DB

logger = logging.getLogger(__name__)

GENERATION_KEY = "products:catalogue-generation"
ENTRY_PREFIX = "products:"
# Bounds staleness if a bump is ever lost (the cache was unreachable just after a commit).
ENTRY_TIMEOUT_SECONDS = 300
# How long browsers, proxies and CDNs may reuse an anonymous catalogue response
# (`Cache-Control: public, max-age=...`) before revalidating it with its ETag.
MAX_AGE_SECONDS = 10

# KEYS[1]: the generation; ARGV[1] the entries' key prefix, ARGV[2..]: the names wanted. Returns
# false when there is no generation yet, else {generation, value or false per name}.
_LOOKUP = """
local generation = redis.call('GET', KEYS[1])
if not generation then return false end
local values = {generation}
for i = 2, #ARGV do values[i] = redis.call('GET', ARGV[1] .. generation .. ':' .. ARGV[i]) end
return values
"""


@dataclass(frozen=True)
class Entry:
    body: bytes
    etag: str

    @classmethod
    def of(cls, data) -> "Entry":
        body = JSONRenderer().render(data)
        return cls(body, f'"{hashlib.blake2b(body, digest_size=16).hexdigest()}"')

    @classmethod
    def decode(cls, stored: bytes) -> "Entry":
        etag, _, body = stored.partition(b"\n")
        return cls(body, etag.decode())

    def encode(self) -> bytes:
        return self.etag.encode() + b"\n" + self.body


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
    transaction.on_commit(bump, using=DB)


def cached(name: str, render: Callable[[int | None], object], *,
           count_name: str | None = None, count: Callable[[], int] | None = None) -> Entry:
    """The entry cached under `name` for the current generation, rendering it on a miss.

    `render(total)` gets the list's row count when `count` is given: cached under `count_name`
    for the generation, computed by `count()` only when absent.

    The cache is an accelerator: when it cannot be reached, the entry is rendered every time.
    Without Redis (the embedded default) nothing is cached: a per-process memory cache would
    let one worker serve what another worker's write has changed.
    """
    if not settings.REDIS_URL:
        return Entry.of(render(count() if count else None))
    names = [name] + ([count_name] if count else [])
    try:
        current, values = _lookup(names)
    except Exception:
        logger.warning("catalogue cache unreachable; serving uncached", exc_info=True)
        return Entry.of(render(count() if count else None))
    if values[0] is not None:
        return Entry.decode(values[0])
    fresh = {}
    total = None
    if count:
        total = int(values[1]) if values[1] is not None else None
        if total is None:
            total = fresh[count_name] = count()
    entry = Entry.of(render(total))
    fresh[name] = entry.encode()
    try:
        _store(current, fresh)
    except Exception:
        logger.warning("catalogue cache unreachable; not storing", exc_info=True)
    return entry


def _lookup(names: list[str]) -> tuple[int, list[bytes | None]]:
    """The generation and the values of `names` under it: one round trip."""
    client = cache.client.get_client(write=True)
    found = _lookup_script(client)(keys=[cache.make_key(GENERATION_KEY)],
                                   args=[cache.make_key(ENTRY_PREFIX), *names])
    if not found:
        return generation(), [None] * len(names)
    return int(found[0]), found[1:]


def _store(current: int, values: dict[str, object]) -> None:
    pipeline = cache.client.get_client(write=True).pipeline(transaction=False)
    for name, value in values.items():
        pipeline.set(f"{cache.make_key(ENTRY_PREFIX)}{current}:{name}", value, ex=ENTRY_TIMEOUT_SECONDS)
    pipeline.execute()


@functools.cache
def _lookup_script(client):
    return client.register_script(_LOOKUP)
