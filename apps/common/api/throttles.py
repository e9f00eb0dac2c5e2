"""Rate limits per client (DRF throttles counted in the project's cache: Redis where REDIS_URL is
set, so every process shares the counts). Rates come from THROTTLE_RATES (config/throttle_rates.py).

The client is the user for authenticated requests and the client address otherwise: REMOTE_ADDR,
or the X-Forwarded-For entry written by the outermost of TRUSTED_PROXY_COUNT trusted proxies
(DRF's NUM_PROXIES), so a client cannot pick its own address by sending the header.

Counting is a fixed window opened by a client's first request: one counter per client and scope,
incremented in one round trip. DRF's default keeps a list of timestamps per client and reads and
rewrites all of it on every request (up to `anon`'s 1,200 entries); a fixed window may let up to
twice the rate through across a window's edge, which these ceilings tolerate.
"""

import logging

from django.conf import settings
from django.core.cache import cache
from rest_framework import throttling

logger = logging.getLogger(__name__)

RATE_LIMITED = ("`rate_limited`: too many requests from this client; `Retry-After` says when to "
                "try again.")


class FixedWindowRateThrottle(throttling.SimpleRateThrottle):
    def allow_request(self, request, view):
        if self.rate is None:
            return True
        self.key = self.get_cache_key(request, view)
        if self.key is None:
            return True
        try:
            count, self.seconds_left = _count(self.key, self.duration)
        except Exception:  # an unreachable cache limits nothing rather than failing the request
            logger.warning("throttle counters unreachable; not limiting", exc_info=True)
            return True
        return count <= self.num_requests

    def wait(self):
        return self.seconds_left


def _count(key: str, seconds: int) -> tuple[int, float]:
    """This request's number in the client's window, and the seconds left in that window."""
    if settings.REDIS_URL:
        full_key = cache.make_key(key)
        # MULTI/EXEC: the window cannot end between opening it and counting in it.
        pipeline = cache.client.get_client(write=True).pipeline(transaction=True)
        pipeline.set(full_key, 0, ex=seconds, nx=True)
        pipeline.incr(full_key)
        pipeline.pttl(full_key)
        _, count, milliseconds_left = pipeline.execute()
        return count, max(milliseconds_left, 1) / 1000
    cache.add(key, 0, seconds)  # the embedded default: per process, Retry-After approximate
    try:
        return cache.incr(key), seconds
    except ValueError:  # the window ended between add and incr
        cache.add(key, 1, seconds)
        return 1, seconds


class AnonRateThrottle(throttling.AnonRateThrottle, FixedWindowRateThrottle):
    """Every anonymous request, per client address (scope `anon`)."""


class UserRateThrottle(throttling.UserRateThrottle, FixedWindowRateThrottle):
    """Every authenticated request, per user (scope `user`); anonymous ones count under `anon`."""

    def get_cache_key(self, request, view):
        if not (request.user and request.user.is_authenticated):
            return None
        return super().get_cache_key(request, view)


class ScopedRateThrottle(throttling.ScopedRateThrottle, FixedWindowRateThrottle):
    """The view's own `throttle_scope` (e.g. `login_ip`), per user or else per client address.
    A view may make `throttle_scope` a property to limit only some of its methods."""


def document_rate_limits(result, generator, request, public):
    """Every operation may answer 429 (the general anonymous and per-user rates): say so."""
    for operation in (op for path in result["paths"].values() for op in path.values()):
        operation["responses"].setdefault("429", {
            "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Problem"}}},
            "description": RATE_LIMITED,
        })
    return result
