"""Rate limits per client: `THROTTLE_RATES` is read here and only here.

A comma list of `scope=rate` (`login_ip=30/min,register_ip=10/hour`) overrides the defaults
scope by scope; `off` turns every rate off (the contract's per-email login throttle in
apps/users/login_throttle.py is not one of these and stays on). A rate is `N/s`, `N/min`,
`N/hour` or `N/day`, or `off` for that scope alone. An unknown scope or malformed rate stops
start-up naming the variable.
"""

import re

from django.core.exceptions import ImproperlyConfigured

# scope -> rate; what each scope counts is in README.md's configuration table.
DEFAULT_THROTTLE_RATES = {
    "anon": "1200/min",  # any anonymous request, per client address
    "user": "2400/min",  # any authenticated request, per user
    "login_ip": "30/min",  # POST /auth/token, per client address
    "register_ip": "20/hour",  # POST /auth/register, per client address
    "refund_staff": "60/min",  # POST /payments/{id}/refund, per staff user
    "adjustment_staff": "120/min",  # POST /inventory/{id}/adjustments, per staff user
}
_RATE = re.compile(r"^[1-9][0-9]{0,8}/(s|sec|second|m|min|minute|h|hour|d|day)$")


def parse_throttle_rates(raw: str | None) -> dict[str, str | None]:
    """DRF's DEFAULT_THROTTLE_RATES; a scope whose rate is None is not limited."""
    if raw is None or not raw.strip():
        return dict(DEFAULT_THROTTLE_RATES)
    if raw.strip().lower() == "off":
        return dict.fromkeys(DEFAULT_THROTTLE_RATES)
    rates = dict(DEFAULT_THROTTLE_RATES)
    for item in filter(str.strip, raw.split(",")):
        scope, _, rate = (part.strip() for part in item.partition("="))
        if scope not in DEFAULT_THROTTLE_RATES:
            raise ImproperlyConfigured(
                f"THROTTLE_RATES names unknown scope {scope!r}; valid scopes are "
                f"{', '.join(DEFAULT_THROTTLE_RATES)}.")
        if rate.lower() == "off":
            rates[scope] = None
            continue
        if not _RATE.match(rate):
            raise ImproperlyConfigured(
                f"THROTTLE_RATES: {scope}={rate!r} is not a rate like 30/min (per s, min, hour or day).")
        rates[scope] = rate
    return rates


def parse_trusted_proxy_count(raw: str | None) -> int:
    if raw is None or not raw.strip():
        return 0
    if not (raw.strip().isascii() and raw.strip().isdigit()):
        raise ImproperlyConfigured(f"TRUSTED_PROXY_COUNT must be a whole number >= 0, got {raw!r}.")
    return int(raw)
