"""The payments app's typed errors, each with its contract `code` and HTTP status."""

from apps.common.api.errors import Conflict, DomainError, ServiceUnavailable


class IdempotencyKeyRequired(DomainError):
    code = "idempotency_key_required"
    default_detail = "The Idempotency-Key header is required (1 to 255 characters)."


class IdempotencyKeyReused(DomainError):
    status = 422
    code = "idempotency_key_reused"
    default_detail = "This Idempotency-Key was already used with a different request."


class IdempotencyKeyInProgress(Conflict):
    code = "idempotency_key_in_progress"
    default_detail = "A request with this Idempotency-Key is still being processed; retry later."


class InvalidProduct(DomainError):
    code = "invalid_product"
    default_detail = "A product in this purchase is unknown or not for sale."


class MixedCurrencies(DomainError):
    code = "mixed_currencies"
    default_detail = "All products of one payment must be priced in the same currency."


class AmountTooLarge(DomainError):
    code = "validation_error"
    default_detail = "Invalid input."


class PaymentDeclined(DomainError):
    status = 402
    code = "payment_declined"
    default_detail = "The payment method was declined."


class PaymentProviderError(DomainError):
    status = 502
    code = "payment_provider_error"
    default_detail = "The payment provider could not process the payment. Nothing was charged."


class AlreadyRefunded(Conflict):
    code = "already_refunded"
    default_detail = "This payment has already been refunded."


class NotRefundable(Conflict):
    code = "not_refundable"
    default_detail = "Only a succeeded payment can be refunded."


class ReservationExpired(Conflict):
    code = "reservation_expired"
    default_detail = (
        "The stock reservation of this payment expired before it was charged. Nothing was charged."
    )


class PaymentOutcomePending(ServiceUnavailable):
    """The charge was attempted but its outcome could not be recorded (the database went away):
    the payment stays pending and its key claimed until resolve_pending_payments settles both."""

    default_detail = (
        "The payment's outcome could not be recorded yet; it will be settled within minutes. "
        "Retry with the same Idempotency-Key to get it; you will not be charged twice."
    )


class InvalidSignature(DomainError):
    code = "invalid_signature"
    default_detail = "The webhook's signature is missing, invalid, stale, or the delivery was replayed."
