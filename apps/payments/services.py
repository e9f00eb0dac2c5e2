"""Writes: the purchase and the refund.

A purchase never holds a payments transaction open while it calls products, inventory or the
payment provider. Its steps, each in its own short transaction or call:

1. claim the idempotency key (or answer the stored response / 409 / 422);
2. price every line from the catalogue, then open the payment (`pending`, with its lines and
   amount) bound to the key;
3. reserve every line's stock at once, under the payment's id;
4. charge the provider, with the payment's id as the provider's idempotency key;
5. commit the outcome, its event and the stored response in one transaction.

Every outcome of a request that ran is stored and replayed (Stripe's rule), failures included.
Only a `service_unavailable` answer (a dependency could not be reached, nothing was charged)
forgets the key, so the client can retry it.
"""

import logging
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from decimal import Decimal
from uuid import UUID

from django.db import transaction
from django.utils import timezone

from apps.common import metrics
from apps.common.errors import DomainError, NotFound, ServiceUnavailable
from apps.common.outbox import emit
from apps.common.problems import problem_body
from apps.inventory import interface as inventory
from apps.payments import idempotency
from apps.payments.errors import (
    AlreadyRefunded,
    InvalidProduct,
    MixedCurrencies,
    NotRefundable,
    PaymentDeclined,
    PaymentProviderError,
    ReservationExpired,
)
from apps.payments.models import IdempotencyKey, Payment, PaymentItem
from apps.payments.providers import Charge, get_provider
from apps.products import interface as products

logger = logging.getLogger(__name__)

DB = "payments"
CENT = Decimal("0.01")
PURCHASE_COMPLETED = "payments.purchase_completed"
COMPLETED = "completed"  # the purchase outcome counted on success; failures count their error code
REFUNDED = "payments.refunded"


@dataclass(frozen=True)
class PurchaseLine:
    product_id: UUID
    quantity: int


@dataclass(frozen=True)
class PurchaseResult:
    response: idempotency.StoredResponse
    replayed: bool = False


Render = Callable[[Payment], dict]


def purchase(*, user_id: UUID, customer_email: str = "", idempotency_key: str, fingerprint: str,
             lines: Sequence[PurchaseLine], token: str, render: Render) -> PurchaseResult:
    """Run a purchase once per idempotency key; `render` turns the payment into the 201 body.
    `customer_email` is recorded on the payment as staff will look for it."""
    claimed = idempotency.claim(user_id, idempotency_key, fingerprint)
    if isinstance(claimed, idempotency.StoredResponse):
        return PurchaseResult(claimed, replayed=True)
    key = claimed
    try:
        # A key taken over from a request that died resumes that request's payment: reserving
        # and charging are idempotent on the payment id, so nothing happens twice.
        payment = key.payment or _open_payment(key, user_id, customer_email, lines)
        stored = _settle(key, payment, token, render)
    except ServiceUnavailable:
        _abandon(key)
        raise
    except (InvalidProduct, MixedCurrencies) as error:
        with transaction.atomic(using=DB):
            stored = idempotency.complete(key, error.status, _problem(error))
            _count_purchase(error.code)
    return PurchaseResult(stored)


def _open_payment(key: IdempotencyKey, user_id: UUID, customer_email: str,
                  lines: Sequence[PurchaseLine]) -> Payment:
    catalogue = products.get_products(line.product_id for line in lines)
    invalid = [str(line.product_id) for line in lines
               if line.product_id not in catalogue or not catalogue[line.product_id].is_active]
    if invalid:
        raise InvalidProduct(f"Unknown or inactive product(s): {', '.join(invalid)}.", product_ids=invalid)
    currencies = sorted({catalogue[line.product_id].currency for line in lines})
    if len(currencies) > 1:
        raise MixedCurrencies(currencies=currencies)
    amount = sum((catalogue[line.product_id].price * line.quantity for line in lines), Decimal(0))
    with transaction.atomic(using=DB):
        payment = Payment.objects.using(DB).create(
            user_id=user_id, customer_email=customer_email, amount=amount.quantize(CENT),
            currency=currencies[0], provider=get_provider().name,
        )
        PaymentItem.objects.using(DB).bulk_create(
            PaymentItem(payment=payment, product_id=line.product_id, quantity=line.quantity,
                        unit_price=catalogue[line.product_id].price, sku=catalogue[line.product_id].sku,
                        name=catalogue[line.product_id].name)
            for line in lines
        )
        idempotency.bind_payment(key, payment)
    return payment


def _settle(key: IdempotencyKey, payment: Payment, token: str, render: Render) -> idempotency.StoredResponse:
    stock_lines = [inventory.StockLine(item.product_id, item.quantity)
                   for item in payment.items.using(DB).all()]
    try:
        reservation = inventory.reserve(str(payment.id), stock_lines)
    except inventory.InsufficientStock as error:
        return _fail(key, payment, error)
    if reservation.status != "active":
        # Only a resumed payment can find its reservation gone; it must not be charged then.
        return _fail(key, payment, ReservationExpired())
    try:
        charge = get_provider(payment.provider).charge(
            payment.amount, payment.currency, token, idempotency_key=str(payment.id),
        )
    except (PaymentDeclined, PaymentProviderError) as error:
        _release(payment)
        return _fail(key, payment, error)
    return _succeed(key, payment, charge, render)


def _succeed(key: IdempotencyKey, payment: Payment, charge: Charge,
             render: Render) -> idempotency.StoredResponse:
    with transaction.atomic(using=DB):
        payment = Payment.objects.using(DB).select_for_update().get(pk=payment.pk)
        if payment.status == Payment.Status.PENDING:  # else a request it was taken over from won
            payment.status = Payment.Status.SUCCEEDED
            payment.provider_charge_id = charge.id
            payment.save(using=DB, update_fields=["status", "provider_charge_id", "updated_at"])
            emit("payments", PURCHASE_COMPLETED, _purchase_completed_data(payment), key=str(payment.id))
            _count_purchase(COMPLETED, payment)
        return idempotency.complete(key, 201, render(payment))


def _fail(key: IdempotencyKey, payment: Payment, error: DomainError) -> idempotency.StoredResponse:
    with transaction.atomic(using=DB):
        _mark_failed(payment, error.code)
        _count_purchase(error.code)
        return idempotency.complete(key, error.status, _problem(error, payment_id=str(payment.id)))


def _abandon(key: IdempotencyKey) -> None:
    """A dependency was unreachable before anything was charged: undo and forget the key."""
    if key.payment is not None:
        _release(key.payment)
    with transaction.atomic(using=DB):
        if key.payment is not None:
            _mark_failed(key.payment, ServiceUnavailable.code)
        idempotency.forget(key)
        _count_purchase(ServiceUnavailable.code)


def _mark_failed(payment: Payment, failure_code: str) -> None:
    Payment.objects.using(DB).filter(pk=payment.pk, status=Payment.Status.PENDING).update(
        status=Payment.Status.FAILED, failure_code=failure_code, updated_at=timezone.now(),
    )


def _count_purchase(outcome: str, payment: Payment | None = None) -> None:
    """Count the purchase's outcome (and, when completed, its amount) once its transaction commits."""

    def count():
        metrics.PURCHASES.labels(outcome=outcome).inc()
        if payment is not None:
            metrics.AMOUNT_SOLD.labels(currency=payment.currency).inc(float(payment.amount))

    transaction.on_commit(count, using=DB)


def _release(payment: Payment) -> None:
    try:
        inventory.release(str(payment.id))
    except ServiceUnavailable:
        # Inventory cannot be reached: the reservation expires on its own (15 minutes).
        logger.warning("could not release the reservation of payment %s; it will expire", payment.id)


def _problem(error: DomainError, **extra) -> dict:
    return problem_body(error.status, error.code, error.detail, **error.extra, **extra)


@dataclass(frozen=True)
class Actor:
    """The staff user doing something, as the payment and the ledger record them."""

    id: UUID
    email: str


def refund_payment(payment_id: UUID, *, restock: bool, actor: Actor | None = None) -> Payment:
    """Refund a succeeded payment in full; with `restock` its units go back on hand. The
    `actor` is recorded on the payment and travels with the event to the ledger."""
    payment = Payment.objects.using(DB).filter(pk=payment_id).first()
    if payment is None:
        raise NotFound("No payment with this id.")
    _check_refundable(payment)
    # Outside any transaction: the provider is a remote call. Its refund is idempotent, so two
    # racing refunds are harmless there; the transaction below lets only one of them win here.
    get_provider(payment.provider).refund(payment.provider_charge_id, payment.amount)
    with transaction.atomic(using=DB):
        payment = Payment.objects.using(DB).select_for_update().get(pk=payment_id)
        _check_refundable(payment)
        payment.status = Payment.Status.REFUNDED
        payment.refunded_at = timezone.now()
        if actor is not None:
            payment.refunded_by_id, payment.refunded_by_email = actor.id, actor.email
        payment.save(using=DB, update_fields=["status", "refunded_at", "refunded_by_id", "refunded_by_email",
                                              "updated_at"])
        emit("payments", REFUNDED, {
            "payment_id": str(payment.id), "items": _items_data(payment), "restock": restock,
            "actor_id": str(actor.id) if actor else None, "actor_email": actor.email if actor else "",
        }, key=str(payment.id))
        transaction.on_commit(metrics.REFUNDS.inc, using=DB)
    return payment


def _check_refundable(payment: Payment) -> None:
    if payment.status == Payment.Status.REFUNDED:
        raise AlreadyRefunded()
    if payment.status != Payment.Status.SUCCEEDED:
        raise NotRefundable(f"Only a succeeded payment can be refunded; this one is {payment.status}.")


def _purchase_completed_data(payment: Payment) -> dict:
    return {
        "payment_id": str(payment.id), "user_id": str(payment.user_id), "items": _items_data(payment),
        "amount": str(payment.amount), "currency": payment.currency,
    }


def _items_data(payment: Payment) -> list[dict]:
    return [
        {"product_id": str(item.product_id), "quantity": item.quantity, "unit_price": str(item.unit_price)}
        for item in payment.items.using(DB).all()
    ]
