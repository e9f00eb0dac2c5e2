"""A sandbox provider with Stripe's test tokens, keeping a ledger of its charges.

The ledger (`SandboxCharge`, in the payments database) stands in for the provider's side of the
world: tests count what was really charged. Tokens: `tok_visa` succeeds, `tok_chargeDeclined` is
declined, `tok_processingError` fails inside the provider; any other token is declined as an
unknown payment method.
"""

import uuid
from decimal import Decimal

from django.db import IntegrityError, transaction

from apps.payments.errors import PaymentDeclined, PaymentProviderError
from apps.payments.models import DB, SandboxCharge
from apps.payments.providers import Charge, Refund

SUCCEEDING_TOKENS = {"tok_visa"}
DECLINED_TOKEN = "tok_chargeDeclined"
PROCESSING_ERROR_TOKEN = "tok_processingError"


class SandboxProvider:
    name = "sandbox"

    def charge(self, amount: Decimal, currency: str, token: str, idempotency_key: str) -> Charge:
        if token == PROCESSING_ERROR_TOKEN:
            raise PaymentProviderError("The payment provider had a processing error. Nothing was charged.")
        record = self._charge_once(amount, currency, token, idempotency_key)
        if record.amount != amount or record.currency != currency:
            raise PaymentProviderError("The provider's idempotency key was reused with other parameters.")
        if record.status == SandboxCharge.Status.FAILED:
            raise PaymentDeclined(decline_code=record.failure_code)
        return Charge(id=record.id, amount=record.amount, currency=record.currency)

    def refund(self, charge_id: str, amount: Decimal) -> Refund:
        """Refund in full. Refunding a fully refunded charge again returns the first refund."""
        with transaction.atomic(using=DB):
            record = SandboxCharge.objects.using(DB).select_for_update().filter(
                id=charge_id, status=SandboxCharge.Status.SUCCEEDED,
            ).first()
            if record is None:
                raise PaymentProviderError(f"The provider has no succeeded charge {charge_id}.")
            if amount != record.amount:
                raise PaymentProviderError("The sandbox provider refunds charges in full only.")
            record.amount_refunded = amount
            record.save(using=DB, update_fields=["amount_refunded"])
        return Refund(charge_id=record.id, amount=amount)

    def find_charge(self, idempotency_key: str) -> Charge | None:
        record = SandboxCharge.objects.using(DB).filter(
            idempotency_key=idempotency_key, status=SandboxCharge.Status.SUCCEEDED,
        ).first()
        if record is None:
            return None
        return Charge(id=record.id, amount=record.amount, currency=record.currency)

    def _charge_once(self, amount, currency, token, idempotency_key) -> SandboxCharge:
        if token in SUCCEEDING_TOKENS:
            outcome = {"status": SandboxCharge.Status.SUCCEEDED, "failure_code": ""}
        else:
            failure_code = "card_declined" if token == DECLINED_TOKEN else "invalid_token"
            outcome = {"status": SandboxCharge.Status.FAILED, "failure_code": failure_code}
        fields = {"amount": amount, "currency": currency, "token": token, **outcome}
        try:
            with transaction.atomic(using=DB):
                return SandboxCharge.objects.using(DB).create(
                    id=f"ch_{uuid.uuid4().hex}", idempotency_key=idempotency_key, **fields,
                )
        except IntegrityError:
            # The same key was charged before (or right now, by a racing retry): that charge stands.
            return SandboxCharge.objects.using(DB).get(idempotency_key=idempotency_key)
