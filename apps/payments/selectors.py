"""Reads of payments."""

from uuid import UUID

from django.db.models import QuerySet

from apps.common.api.errors import NotFound
from apps.payments.models import DB, Payment


def payments_visible_to(user_id: UUID, is_staff: bool, *, owner_id: UUID | None = None,
                        status: str | None = None) -> QuerySet[Payment]:
    """Newest first. A shopper sees only their own payments; staff see everyone's."""
    payments = Payment.objects.using(DB).prefetch_related("items")
    if not is_staff:
        payments = payments.filter(user_id=user_id)
    if owner_id is not None:
        payments = payments.filter(user_id=owner_id)
    if status is not None:
        payments = payments.filter(status=status)
    return payments


def payment_visible_to(payment_id: UUID, user_id: UUID, is_staff: bool) -> Payment:
    """Somebody else's payment is as absent as an unknown one: 404, not 403."""
    payment = payments_visible_to(user_id, is_staff).filter(pk=payment_id).first()
    if payment is None:
        raise NotFound("No payment with this id.")
    return payment
