"""Writes: the purchase and the refund. A purchase never holds a payments transaction open while
it calls products, inventory or the provider; its steps are in docs/payments.md.
A payment left `pending` by a crash or an outage is settled by `resolve_pending_payments`.
A charge that waits on the shopper (3-D Secure) answers 202; the provider's webhook
(`webhooks.py`) completes or fails it through `complete_payment` and `fail_payment`.
"""

import logging
from collections import Counter
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal
from functools import partial
from uuid import UUID, uuid4

from django.db import transaction
from django.utils import timezone

from apps.common import prefetch
from apps.common.api.errors import (
    DATABASE_UNAVAILABLE,
    DomainError,
    NotFound,
    ServiceUnavailable,
    database_unavailable,
)
from apps.common.api.problems import problem_body
from apps.common.events.outbox import emit
from apps.common.observability import metrics
from apps.inventory import interface as inventory
from apps.payments import idempotency
from apps.payments.errors import (
    AlreadyRefunded,
    AmountTooLarge,
    IdempotencyKeyInProgress,
    InvalidProduct,
    MixedCurrencies,
    NotRefundable,
    PaymentDeclined,
    PaymentOutcomePending,
    PaymentProviderError,
    ReservationExpired,
)
from apps.payments.event_types import Item, PaymentRefunded, PurchaseCompleted
from apps.payments.models import DB, MAX_AMOUNT, IdempotencyKey, Payment, PaymentItem
from apps.payments.providers import Charge, get_provider
from apps.products import interface as products

logger = logging.getLogger(__name__)

CENT = Decimal("0.01")
PURCHASE_COMPLETED = PurchaseCompleted.TYPE
COMPLETED = "completed"  # the purchase outcome counted on success; failures count their error code
ABANDONED = "abandoned"  # failure code of a payment a crash or an outage left pending, never charged


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
    payment_id = uuid4()
    # Split mode: inventory reserves while products prices the lines, not one round trip after the
    # other (docs/grpc.md); in-process the reservation runs only when it is awaited, in `_settle`.
    pending = inventory.begin_reserve(
        str(payment_id), [inventory.StockLine(line.product_id, line.quantity) for line in lines])
    try:
        claimed = _claim(payment_id, user_id, customer_email, idempotency_key, fingerprint, lines)
    except BaseException:
        pending.discard()
        raise
    if isinstance(claimed, idempotency.StoredResponse):
        pending.discard()
        return PurchaseResult(claimed, replayed=True)
    key = claimed
    if key.status == IdempotencyKey.Status.COMPLETED:  # this request's own answer, stored with the claim
        pending.discard()
        return PurchaseResult(idempotency.StoredResponse(key.response_status, key.response_body))
    try:
        # A key taken over from a request that died resumes that request's payment: reserving
        # and charging are idempotent on the payment id, so nothing happens twice.
        if key.payment.pk != payment_id:  # a dead request's payment resumes, under its own reference
            pending.discard()
            pending = _reserve_again(key.payment)
        stored = _settle(key, key.payment, pending, token, render)
    except PaymentOutcomePending:
        raise  # possibly charged: nothing may be undone; resolve_pending_payments settles it
    except ServiceUnavailable:
        _abandon(key)
        raise
    except DATABASE_UNAVAILABLE as error:
        logger.warning("purchase abandoned, a database did not answer: %s", error)
        _abandon(key)
        raise database_unavailable(error) from error
    return PurchaseResult(stored)


def _claim(payment_id: UUID, user_id: UUID, customer_email: str, idempotency_key: str, fingerprint: str,
           lines: Sequence[PurchaseLine]) -> IdempotencyKey | idempotency.StoredResponse:
    """Price the lines, then claim the key together with the new payment (or the refusal) in one
    transaction; the key's stored answer when it has one."""
    unavailable = None
    try:
        opening = _open_payment(payment_id, user_id, customer_email, lines)
    except (InvalidProduct, MixedCurrencies, AmountTooLarge) as error:
        opening = idempotency.Opening(response=idempotency.stored(error.status, _problem(error)),
                                      write=partial(_count_purchase, error.code))
    except ServiceUnavailable as error:
        opening, unavailable = None, error
    except DATABASE_UNAVAILABLE as error:
        logger.warning("purchase not started, the catalogue's database did not answer: %s", error)
        opening, unavailable = None, database_unavailable(error)
    # Without prices a key that has an answer still replays it, and a dead request's payment resumes.
    claimed = idempotency.claim(user_id, idempotency_key, fingerprint, opening)
    if claimed is None:  # the key was free and stays so: the client may retry with it
        _count_purchase(ServiceUnavailable.code)
        raise unavailable
    return claimed


def _reserve_again(payment: Payment) -> inventory.PendingReservation:
    """A resumed payment's reservation (the same reference: reserving again finds it)."""
    return inventory.begin_reserve(str(payment.id), [
        inventory.StockLine(item.product_id, item.quantity) for item in payment.items.using(DB).all()])


def _open_payment(payment_id: UUID, user_id: UUID, customer_email: str,
                  lines: Sequence[PurchaseLine]) -> idempotency.Opening:
    """Price the lines and prepare their payment, written with the key's claim."""
    catalogue = products.get_products(line.product_id for line in lines)
    invalid = [str(line.product_id) for line in lines
               if line.product_id not in catalogue or not catalogue[line.product_id].is_active]
    if invalid:
        raise InvalidProduct(f"Unknown or inactive product(s): {', '.join(invalid)}.", product_ids=invalid)
    currencies = sorted({catalogue[line.product_id].currency for line in lines})
    if len(currencies) > 1:
        raise MixedCurrencies(currencies=currencies)
    amount = sum((catalogue[line.product_id].price * line.quantity for line in lines), Decimal(0))
    if amount > MAX_AMOUNT:  # nothing written yet: the columns could not hold it
        raise AmountTooLarge(errors={"items": [
            f"The total {amount} exceeds the largest payment, {MAX_AMOUNT}."]})
    payment = Payment(id=payment_id, user_id=user_id, customer_email=customer_email,
                      amount=amount.quantize(CENT), currency=currencies[0], provider=get_provider().name)
    items = [PaymentItem(payment=payment, product_id=line.product_id, quantity=line.quantity,
                         unit_price=catalogue[line.product_id].price, sku=catalogue[line.product_id].sku,
                         name=catalogue[line.product_id].name)
             for line in lines]

    def write():
        payment.save(using=DB, force_insert=True)
        PaymentItem.objects.using(DB).bulk_create(items)
        prefetch.hold(payment, "items", items)

    return idempotency.Opening(payment=payment, write=write)


def _settle(key: IdempotencyKey, payment: Payment, pending: inventory.PendingReservation, token: str,
            render: Render) -> idempotency.StoredResponse:
    try:
        reservation = pending.result()
    except inventory.InsufficientStock as error:
        return _fail(key, payment, error)
    if reservation.status != "active":
        # Only a resumed payment can find its reservation gone; it must not be charged then.
        return _fail(key, payment, ReservationExpired())
    try:
        return _charge(key, payment, token, render)
    except DATABASE_UNAVAILABLE as error:
        logger.warning("payment %s left pending, a database did not answer: %s", payment.id, error)
        raise PaymentOutcomePending() from error


def _charge(key: IdempotencyKey, payment: Payment, token: str, render: Render) -> idempotency.StoredResponse:
    try:
        charge = get_provider(payment.provider).charge(
            payment.amount, payment.currency, token, idempotency_key=str(payment.id),
        )
    except (PaymentDeclined, PaymentProviderError) as error:
        _release(payment)
        return _fail(key, payment, error)
    if charge.next_action is not None:
        return _await_shopper(key, payment, charge, render)
    return _succeed(key, payment, charge, render)


def _succeed(key: IdempotencyKey | None, payment: Payment, charge: Charge,
             render: Render) -> idempotency.StoredResponse | None:
    with transaction.atomic(using=DB):
        if not _mark_succeeded(payment, charge):  # a request it was taken over from won
            payment.refresh_from_db(using=DB)
        if key is None:  # resolve_pending_payments, for a payment whose key expired
            return None
        return idempotency.complete(key, 201, render(payment))


def _mark_succeeded(payment: Payment, charge: Charge) -> bool:
    """A pending payment succeeds, with its event; False when it was no longer pending."""
    now = timezone.now()
    succeeded = Payment.objects.using(DB).filter(pk=payment.pk, status=Payment.Status.PENDING).update(
        status=Payment.Status.SUCCEEDED, provider_charge_id=charge.id, updated_at=now,
    )
    if not succeeded:
        return False
    payment.status, payment.provider_charge_id, payment.updated_at = Payment.Status.SUCCEEDED, charge.id, now
    emit("payments", PURCHASE_COMPLETED, _purchase_completed(payment).to_data(), key=str(payment.id))
    _count_purchase(COMPLETED, payment)
    return True


def _await_shopper(key: IdempotencyKey, payment: Payment, charge: Charge,
                   render: Render) -> idempotency.StoredResponse:
    """The charge waits on the shopper: 202 with what their browser needs to finish it (the
    reservation stays; the webhook completes or fails the payment)."""
    with transaction.atomic(using=DB):
        payment.provider_charge_id = charge.id
        payment.save(using=DB, update_fields=["provider_charge_id", "updated_at"])
        next_action = {"type": charge.next_action.type, "client_secret": charge.next_action.client_secret}
        return idempotency.complete(key, 202, {**render(payment), "next_action": next_action})


def complete_payment(payment_id: UUID, charge: Charge) -> None:
    """The provider reports a pending payment charged (webhook): it succeeds as a synchronous one
    does. Call it inside the payments transaction that records the report."""
    payment = Payment.objects.using(DB).select_for_update().filter(pk=payment_id).first()
    if payment is not None and payment.status == Payment.Status.PENDING:
        _mark_succeeded(payment, charge)
    elif payment is not None and payment.status == Payment.Status.FAILED:
        # Its reservation is gone and the shopper was told it failed: staff must refund it there.
        logger.error("payment %s failed here but %s charged it (%s): refund it at the provider",
                     payment.id, payment.provider, charge.id)


def fail_payment(payment_id: UUID, failure_code: str) -> None:
    """The provider reports a pending payment declined (webhook): it fails and, once committed,
    its reservation is released. Call it inside the payments transaction that records the report."""
    payment = Payment.objects.using(DB).select_for_update().filter(pk=payment_id).first()
    if payment is None or payment.status != Payment.Status.PENDING:
        return
    _mark_failed(payment, failure_code)
    _count_purchase(PaymentDeclined.code)
    transaction.on_commit(lambda: _release(payment), using=DB)


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


def resolve_pending_payments(render: Render, *, older_than: timedelta) -> Counter:
    """Settle the payments `pending` for longer than `older_than` whose request is gone:
    charged at the provider -> succeeded, with its event, and its key answers the 201;
    not charged -> failed (`abandoned`), reservation released, key freed for a retry.
    Returns how many ended each way (`succeeded`, `failed`, `running`: left to their request)."""
    pending = Payment.objects.using(DB).filter(
        status=Payment.Status.PENDING, created_at__lte=timezone.now() - older_than,
    )
    outcomes = Counter()
    for payment in pending:
        outcomes[_resolve_pending(payment, render)] += 1
    return outcomes


def _resolve_pending(payment: Payment, render: Render) -> str:
    try:
        key = idempotency.take_over(payment)
    except IdempotencyKeyInProgress:
        return "running"
    charge = get_provider(payment.provider).find_charge(str(payment.id))
    if charge is not None:
        _succeed(key, payment, charge, render)
        return Payment.Status.SUCCEEDED.value
    _release(payment)
    with transaction.atomic(using=DB):
        _mark_failed(payment, ABANDONED)
        _count_purchase(ABANDONED)
        if key is not None:
            idempotency.forget(key)
    return Payment.Status.FAILED.value


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
    except (ServiceUnavailable, *DATABASE_UNAVAILABLE):
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
        _mark_refunded(payment, restock=restock, actor=actor)
    return payment


def record_provider_refund(provider: str, charge_id: str) -> None:
    """Refunded at the provider (its dashboard; webhook): the same refund, without restock (nobody
    said the goods came back). A refund made here first finds the payment refunded: nothing to do.
    Call it inside the payments transaction that records the report."""
    payment = Payment.objects.using(DB).select_for_update().filter(
        provider=provider, provider_charge_id=charge_id).first()
    if payment is not None and payment.status == Payment.Status.SUCCEEDED:
        _mark_refunded(payment, restock=False)


def record_dispute(provider: str, charge_id: str) -> None:
    """The shopper disputed the charge with their bank: staff must answer it at the provider."""
    payment = Payment.objects.using(DB).select_for_update().filter(
        provider=provider, provider_charge_id=charge_id).first()
    if payment is not None:
        payment.disputed_at = timezone.now()
        payment.save(using=DB, update_fields=["disputed_at", "updated_at"])
        logger.warning("payment %s is disputed at %s; answer the dispute there", payment.id, provider)


def _mark_refunded(payment: Payment, *, restock: bool, actor: Actor | None = None) -> None:
    payment.status = Payment.Status.REFUNDED
    payment.refunded_at = timezone.now()
    if actor is not None:
        payment.refunded_by_id, payment.refunded_by_email = actor.id, actor.email
    payment.save(using=DB, update_fields=["status", "refunded_at", "refunded_by_id", "refunded_by_email",
                                          "updated_at"])
    refunded = PaymentRefunded(payment.id, _items(payment), restock,
                               user_id=payment.user_id, amount=payment.amount, currency=payment.currency,
                               actor_id=actor.id if actor else None,
                               actor_email=actor.email if actor else "")
    emit("payments", PaymentRefunded.TYPE, refunded.to_data(), key=str(payment.id))
    transaction.on_commit(metrics.REFUNDS.inc, using=DB)


def _check_refundable(payment: Payment) -> None:
    if payment.status == Payment.Status.REFUNDED:
        raise AlreadyRefunded()
    if payment.status != Payment.Status.SUCCEEDED:
        raise NotRefundable(f"Only a succeeded payment can be refunded; this one is {payment.status}.")


def _purchase_completed(payment: Payment) -> PurchaseCompleted:
    return PurchaseCompleted(payment.id, payment.user_id, _items(payment), payment.amount, payment.currency)


def _items(payment: Payment) -> tuple[Item, ...]:
    return tuple(Item(item.product_id, item.quantity, item.unit_price, name=item.name, sku=item.sku)
                 for item in payment.items.all())
