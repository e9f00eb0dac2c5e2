"""Payment providers behind one interface, chosen by the `PAYMENT_PROVIDER` setting.

A provider charges and refunds; it raises `PaymentDeclined` (the card was refused: 402) or
`PaymentProviderError` (the provider failed: 502). `charge` is idempotent on its
`idempotency_key` (the payment id), as Stripe's API is: a retried call returns the first charge.
`find_charge` answers "was this payment charged?" for a payment whose outcome was never recorded
(resolve_pending_payments).
A charge with a `next_action` is pending on the shopper (3-D Secure); a provider with such
charges reports their outcome through its webhook (`webhooks.py`).
"""

from dataclasses import dataclass
from decimal import Decimal
from functools import cache
from typing import Protocol

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.utils.module_loading import import_string

PROVIDERS = {
    "sandbox": "apps.payments.providers.sandbox.SandboxProvider",
    "stripe": "apps.payments.providers.stripe.StripeProvider",
}


@dataclass(frozen=True)
class NextAction:
    """What the shopper must do before a pending charge completes (Stripe: 3-D Secure)."""

    type: str
    client_secret: str


@dataclass(frozen=True)
class Charge:
    id: str
    amount: Decimal
    currency: str
    next_action: NextAction | None = None  # set: pending, the provider's webhook completes it


@dataclass(frozen=True)
class Refund:
    charge_id: str
    amount: Decimal


class PaymentProvider(Protocol):
    name: str

    def charge(self, amount: Decimal, currency: str, token: str, idempotency_key: str) -> Charge: ...

    def refund(self, charge_id: str, amount: Decimal) -> Refund: ...

    def find_charge(self, idempotency_key: str) -> Charge | None:
        """The succeeded charge made with `idempotency_key`, or None when nothing was charged."""


def get_provider(name: str | None = None) -> PaymentProvider:
    """The provider named `name` (a payment's own), or the one new payments use."""
    return _provider(name or settings.PAYMENT_PROVIDER)


@cache
def _provider(name: str) -> PaymentProvider:
    if name not in PROVIDERS:
        raise ImproperlyConfigured(
            f"PAYMENT_PROVIDER must be one of {', '.join(PROVIDERS)}, got {name!r}."
        )
    return import_string(PROVIDERS[name])()
