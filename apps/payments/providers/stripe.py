"""Stripe through its official SDK: a PaymentIntent per payment, created and confirmed in one call
with the payment's id as Stripe's idempotency key (and in its metadata, for the webhooks).

Outcomes: `succeeded` is a charge; a card error is `PaymentDeclined`; `requires_action` (3-D
Secure) is a pending charge with the client secret the shopper's browser needs, completed by the
`payment_intent.succeeded` webhook. Stripe not reached, or answering 5xx after the SDK's retries
(same idempotency key), is `PaymentProviderError`; a request sent whose answer never came is
`PaymentOutcomePending` (so is Stripe still running the first request with the key): the
sweeper asks Stripe later (`find_charge`).
"""

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace
from decimal import Decimal
from functools import cached_property

import requests
import stripe
from django.conf import settings

from apps.payments.errors import PaymentDeclined, PaymentOutcomePending, PaymentProviderError
from apps.payments.providers import Charge, NextAction, Refund

# Currencies Stripe counts in whole units (https://docs.stripe.com/currencies#zero-decimal).
ZERO_DECIMAL_CURRENCIES = {"BIF", "CLP", "DJF", "GNF", "JPY", "KMF", "KRW", "MGA", "PYG", "RWF", "UGX",
                           "VND", "VUV", "XAF", "XOF", "XPF"}
SUCCEEDED = "succeeded"
PENDING_STATUSES = {"requires_action", "processing"}


def to_minor_units(amount: Decimal, currency: str) -> int:
    return int(amount if currency.upper() in ZERO_DECIMAL_CURRENCIES else amount * 100)


def from_minor_units(amount: int, currency: str) -> Decimal:
    return Decimal(amount) if currency.upper() in ZERO_DECIMAL_CURRENCIES else Decimal(amount).scaleb(-2)


class StripeProvider:
    name = "stripe"

    @cached_property
    def client(self) -> stripe.StripeClient:
        return stripe.StripeClient(
            settings.STRIPE_API_KEY,
            base_addresses={"api": settings.STRIPE_API_BASE},
            max_network_retries=settings.STRIPE_MAX_NETWORK_RETRIES,
            http_client=stripe.RequestsClient(timeout=settings.STRIPE_TIMEOUT_SECONDS),
        )

    def charge(self, amount: Decimal, currency: str, token: str, idempotency_key: str) -> Charge:
        params = {
            "amount": to_minor_units(amount, currency), "currency": currency.lower(),
            "payment_method": token, "payment_method_types": ["card"], "confirm": True,
            "metadata": {"payment_id": idempotency_key},
        }
        with _stripe_errors():
            intent = self.client.v1.payment_intents.create(params, {"idempotency_key": idempotency_key})
        return _charge_of(intent)

    def refund(self, charge_id: str, amount: Decimal) -> Refund:
        """Refund the PaymentIntent `charge_id`; a refund of a refunded intent is the first one."""
        intent = None
        with _stripe_errors():
            try:
                intent = self.client.v1.payment_intents.retrieve(charge_id)
                refund = self.client.v1.refunds.create(
                    {"payment_intent": charge_id, "amount": to_minor_units(amount, intent.currency)},
                    {"idempotency_key": f"refund-{charge_id}"},
                )
            except stripe.InvalidRequestError as error:
                if error.code != "charge_already_refunded":
                    raise
                return Refund(charge_id=charge_id, amount=amount)
        if refund.status in ("failed", "canceled"):
            raise PaymentProviderError(f"Stripe could not refund {charge_id} ({refund.status}).")
        return Refund(charge_id=charge_id, amount=from_minor_units(refund.amount, intent.currency))

    def find_charge(self, idempotency_key: str) -> Charge | None:
        """The succeeded intent of payment `idempotency_key`, or None: then any intent it has is
        cancelled, so a shopper who never finished 3-D Secure cannot be charged after all."""
        with _stripe_errors():
            found = self.client.v1.payment_intents.search(
                {"query": f"metadata['payment_id']:'{idempotency_key}'"})
            for intent in found.data:
                if intent.status not in (SUCCEEDED, "canceled"):
                    intent = self._cancel(intent.id)
                if intent.status == SUCCEEDED:
                    return _charge_of(intent)
        return None

    def _cancel(self, intent_id: str):
        try:
            return self.client.v1.payment_intents.cancel(intent_id)
        except stripe.InvalidRequestError:
            # Search lags behind: the intent moved on (succeeded) since it was indexed.
            return self.client.v1.payment_intents.retrieve(intent_id)


def _charge_of(intent) -> Charge:
    charge = Charge(id=intent.id, amount=from_minor_units(intent.amount, intent.currency),
                    currency=intent.currency.upper())
    if intent.status == SUCCEEDED:
        return charge
    if intent.status in PENDING_STATUSES:
        action = intent.next_action.type if intent.next_action else "wait"
        return replace(charge, next_action=NextAction(action, intent.client_secret))
    error = intent.last_payment_error.to_dict() if intent.last_payment_error else {}
    raise PaymentDeclined(decline_code=error.get("decline_code") or error.get("code") or intent.status)


@contextmanager
def _stripe_errors() -> Iterator[None]:
    """Stripe's exceptions as the provider interface's."""
    try:
        yield
    except stripe.CardError as error:
        decline_code = getattr(error.error, "decline_code", None) or error.code
        raise PaymentDeclined(decline_code=decline_code) from error
    except stripe.APIConnectionError as error:
        if isinstance(error.__cause__, requests.ReadTimeout):  # sent, never answered: maybe charged
            raise PaymentOutcomePending() from error
        raise PaymentProviderError("Stripe could not be reached. Nothing was charged.") from error
    except stripe.StripeError as error:
        if error.http_status == 409:  # the first request with this key still runs at Stripe
            raise PaymentOutcomePending() from error
        raise PaymentProviderError(f"Stripe failed: {error.user_message or type(error).__name__}.") from error
