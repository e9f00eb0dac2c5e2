"""Payment providers' webhooks: verify the delivery, record its event id, apply it.

Stripe signs each delivery (`Stripe-Signature`: a timestamp and an HMAC of it and the body);
`Webhook.construct_event` checks both, refusing one older than the tolerance. The event's id,
recorded in the transaction that applies it, refuses a delivery seen before. Each event moves the
payment through the same service functions as a synchronous purchase or refund.
"""

from uuid import UUID

import stripe
from django.conf import settings
from django.db import IntegrityError, transaction

from apps.payments import services
from apps.payments.errors import InvalidSignature
from apps.payments.models import DB, WebhookEvent
from apps.payments.providers import Charge
from apps.payments.providers.stripe import from_minor_units

STRIPE = "stripe"


def _payment_intent_succeeded(intent: dict) -> None:
    if payment_id := _payment_id(intent):
        services.complete_payment(payment_id, Charge(
            id=intent["id"], amount=from_minor_units(intent["amount"], intent["currency"]),
            currency=intent["currency"].upper(),
        ))


def _payment_intent_failed(intent: dict) -> None:
    if payment_id := _payment_id(intent):
        error = intent.get("last_payment_error") or {}
        failure_code = error.get("decline_code") or error.get("code") or "payment_declined"
        services.fail_payment(payment_id, failure_code)


def _charge_refunded(charge: dict) -> None:
    if charge.get("refunded") and charge.get("payment_intent"):  # in full: we refund nothing less
        services.record_provider_refund(STRIPE, charge["payment_intent"])


def _dispute_created(dispute: dict) -> None:
    if dispute.get("payment_intent"):
        services.record_dispute(STRIPE, dispute["payment_intent"])


def _payment_id(intent: dict) -> UUID | None:
    """Our payment's id, which every intent we create carries in its metadata."""
    try:
        return UUID((intent.get("metadata") or {}).get("payment_id", ""))
    except ValueError:
        return None  # an intent made by something else on the same Stripe account


STRIPE_HANDLERS = {
    "payment_intent.succeeded": _payment_intent_succeeded,
    "payment_intent.payment_failed": _payment_intent_failed,
    "charge.refunded": _charge_refunded,
    "charge.dispute.created": _dispute_created,
}


def receive_stripe(payload: bytes, signature: str | None) -> None:
    """Apply a Stripe delivery once; `InvalidSignature` (nothing changed) when it is unsigned,
    tampered with, older than the tolerance, or delivered before."""
    if not settings.STRIPE_WEBHOOK_SECRET:
        raise InvalidSignature("No STRIPE_WEBHOOK_SECRET is configured, so no delivery can be verified.")
    try:
        event = stripe.Webhook.construct_event(
            payload, signature or "", settings.STRIPE_WEBHOOK_SECRET,
            tolerance=settings.STRIPE_WEBHOOK_TOLERANCE_SECONDS,
        )
    except (stripe.SignatureVerificationError, ValueError) as error:
        raise InvalidSignature() from error
    with transaction.atomic(using=DB):
        try:
            with transaction.atomic(using=DB):
                WebhookEvent.objects.using(DB).create(provider=STRIPE, event_id=event.id, type=event.type)
        except IntegrityError:
            raise InvalidSignature(f"Event {event.id} was delivered before; nothing changed.") from None
        if handler := STRIPE_HANDLERS.get(event.type):
            handler(event.data.object.to_dict())
