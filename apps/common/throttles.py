"""Rate limits per client (DRF throttles counted in the project's cache: Redis where REDIS_URL is
set, so every process shares the counts). Rates come from THROTTLE_RATES (config/throttle_rates.py).

The client is the user for authenticated requests and the client address otherwise: REMOTE_ADDR,
or the X-Forwarded-For entry written by the outermost of TRUSTED_PROXY_COUNT trusted proxies
(DRF's NUM_PROXIES), so a client cannot pick its own address by sending the header.
"""

from rest_framework import throttling

RATE_LIMITED = ("`rate_limited`: too many requests from this client; `Retry-After` says when to "
                "try again.")


class AnonRateThrottle(throttling.AnonRateThrottle):
    """Every anonymous request, per client address (scope `anon`)."""


class UserRateThrottle(throttling.UserRateThrottle):
    """Every authenticated request, per user (scope `user`); anonymous ones count under `anon`."""

    def get_cache_key(self, request, view):
        if not (request.user and request.user.is_authenticated):
            return None
        return super().get_cache_key(request, view)


class ScopedRateThrottle(throttling.ScopedRateThrottle):
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
