"""Cache of the public catalogue's rendered responses, invalidated by a generation number.

Every cached entry's key carries the catalogue generation, a number kept in the shared cache
(Redis) and bumped after every committed write (staff edits and `in_stock` changes). The next
read in any process sharing that cache builds a key nobody has filled yet, so it reads the
database. A read fetches the generation and its entry in one round trip (a Lua script), so a
response cached while a write commits can only be filed under the old generation.

Each process also keeps the entries it served, with the generation they belong to, and answers a
repeated read from them without any round trip. A bump publishes the new generation on a Redis
channel every process subscribes to; a read first takes the messages already delivered (a
non-blocking read of that connection, no round trip), and the bump returns only after Redis has
sent them (it answers a later command of the writer), so a read that follows the write's answer
finds the message delivered. Without a
confirmed subscription (not yet, or its connection broke) reads go to Redis; the generation held
in process is trusted for `LOCAL_TRUST_SECONDS` at most, which bounds what a vanished
generation key (eviction, a flush) could hide.

Entries are the response bytes with their strong ETag, so a hit renders nothing. Their names come
from parsed, validated, canonical parameters only (see the views), so the number of keys is
bounded by real filter combinations; they live under `products:`, apart from other keys in the
cache (throttle counters, login attempts). A list's `count` is cached beside its pages per
generation, so paging through a result does not count the table again.
"""

import functools
import hashlib
import logging
import os
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass

from django.conf import settings
from django.core.cache import cache
from django.db import transaction
from rest_framework.renderers import JSONRenderer

from apps.products.models import DB

logger = logging.getLogger(__name__)

GENERATION_KEY = "products:catalogue-generation"
GENERATION_CHANNEL = "products:catalogue-generation"
ENTRY_PREFIX = "products:"
# Bounds staleness if a bump is ever lost (the cache was unreachable just after a commit).
ENTRY_TIMEOUT_SECONDS = 300
# How long browsers, proxies and CDNs may reuse an anonymous catalogue response
# (`Cache-Control: public, max-age=...`) before revalidating it with its ETag.
MAX_AGE_SECONDS = 10
# How long a process answers from its own entries without asking Redis for the generation.
LOCAL_TRUST_SECONDS = 1.0
# Entries each process keeps (least recently used dropped first): pages are a few KiB to ~40 KiB.
LOCAL_ENTRIES = 500

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
    if not settings.REDIS_URL:
        return  # nothing is cached
    try:
        client = cache.client.get_client(write=True)
        key = cache.make_key(GENERATION_KEY)
        # One transaction, so the key cannot vanish in between (see generation()); the raw
        # client, whose INCR answers the exact number (a Lua number would round it).
        pipeline = client.pipeline(transaction=True)
        pipeline.set(key, time.time_ns(), nx=True)
        pipeline.incr(key)
        current = pipeline.execute()[1]
        client.publish(cache.make_key(GENERATION_CHANNEL), current)
        # Redis sends its pending output (the message to every subscriber) before it reads the
        # next command: once this answers, a read that follows finds the message delivered.
        client.ping()
        _local.learn(current)
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
    subscribed = _local.listen()
    if found := _local.get(name):
        return found
    names = [name] + ([count_name] if count else [])
    try:
        current, values = _lookup(names)
    except Exception:
        logger.warning("catalogue cache unreachable; serving uncached", exc_info=True)
        return Entry.of(render(count() if count else None))
    if subscribed:  # confirmed before the lookup was sent: no later bump can be missed
        _local.learn(current, confirmed=True)
    if values[0] is not None:
        return _local.put(current, name, Entry.decode(values[0]))
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
    return _local.put(current, name, entry)


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


class _ProcessEntries:
    """This process's entries, its view of the generation and its subscription to the bumps.
    Shared by the server's threads (one lock); made again after a fork."""

    def __init__(self):
        self._lock = threading.Lock()
        self._pid = None
        self._subscription = None
        self._subscribed = False
        self._retry_at = 0.0
        self._generation = None
        self._confirmed_at = 0.0
        self._entries = OrderedDict()

    def listen(self) -> bool:
        """Take the bumps already delivered; True when the subscription is confirmed."""
        with self._lock:
            try:
                if self._pid != os.getpid() or (
                        self._subscription is None and time.monotonic() >= self._retry_at):
                    self._subscribe()
                while self._subscription and (message := self._subscription.get_message(timeout=0)):
                    if message["type"] == "subscribe":
                        # Also after the client reconnected by itself: bumps may have been missed.
                        self._subscribed = True
                        self._forget()
                    elif message["type"] == "message":
                        self._learn(int(message["data"]))
            except Exception:
                logger.warning("catalogue bumps unreadable; reading the generation from Redis",
                               exc_info=True)
                self._close()
                self._retry_at = time.monotonic() + LOCAL_TRUST_SECONDS
            return self._subscribed

    def get(self, name: str) -> Entry | None:
        with self._lock:
            if not (self._subscribed and self._generation is not None
                    and time.monotonic() - self._confirmed_at <= LOCAL_TRUST_SECONDS):
                return None
            found = self._entries.get(name)
            if found is None or found[0] != self._generation:
                return None
            self._entries.move_to_end(name)
            return found[1]

    def put(self, current: int, name: str, entry: Entry) -> Entry:
        with self._lock:
            if current == self._generation:
                self._entries[name] = (current, entry)
                self._entries.move_to_end(name)
                while len(self._entries) > LOCAL_ENTRIES:
                    self._entries.popitem(last=False)
        return entry

    def learn(self, current: int, *, confirmed: bool = False) -> None:
        """`confirmed`: Redis's answer to a lookup sent after the subscription was confirmed."""
        with self._lock:
            if confirmed and self._generation is not None and current < self._generation:
                # A lookup sent before a bump this process has heard of, or a generation
                # recreated lower (a clock behind): hold nothing until Redis agrees again.
                self._forget()
                return
            self._learn(current)
            if confirmed:
                self._confirmed_at = time.monotonic()

    def _learn(self, current: int) -> None:
        # Bumps only raise the generation; messages can arrive after a newer lookup's answer.
        if self._generation is None or current > self._generation:
            self._generation = current
            self._entries.clear()

    def _forget(self) -> None:
        self._generation = None
        self._entries.clear()

    def _subscribe(self) -> None:
        self._close()
        self._pid = os.getpid()
        self._subscription = cache.client.get_client(write=True).pubsub()
        self._subscription.subscribe(cache.make_key(GENERATION_CHANNEL))

    def _close(self) -> None:
        if self._subscription is not None and self._pid == os.getpid():
            self._subscription.close()
        self._subscription = None
        self._subscribed = False
        self._forget()


_local = _ProcessEntries()
