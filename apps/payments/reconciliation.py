"""Every succeeded payment becomes exactly one sale, even past a lost event.

Events can be lost outside our code (a broker rebuilt empty, an unreplicated partition, a dead
letter nobody replays). Payments is the source of truth and inventory holds the effect, so this
compares the two through inventory's interface (never its tables) and repairs by publishing the
payment's ORIGINAL event again: its outbox row is marked unsent, so the relay sends it with the
same CloudEvent id, and the consumer, idempotent on that id, applies it once even if the lost
original turns up late.

A payment succeeds (or is refunded) in the transaction that writes its event to the outbox, so
the outbox rows of the window are exactly the succeeded and refunded payments, each with the id
of its original event. One whose row was sent less than the grace ago may still be on its way
and is left for the next run; one not sent yet is the relay's backlog (the OutboxStale alert).
"""

import logging
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from itertools import islice
from uuid import UUID

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from apps.common.events.outbox import resend
from apps.common.observability import metrics
from apps.inventory import interface as inventory
from apps.payments.event_types import PaymentRefunded, PurchaseCompleted
from apps.payments.models import DB, OutboxEvent

logger = logging.getLogger(__name__)

SALE_MISSING = "sale_missing"  # inventory has no committed sale: no reservation, or it lapsed
RESERVATION_HELD = "reservation_held"  # the payment succeeded, its units are still only reserved
REFUND_MISSING = "refund_missing"  # a refund with restock, and no refund entry in the ledger
CHUNK = 500  # payments asked of inventory per call


@dataclass(frozen=True)
class Discrepancy:
    kind: str
    payment_id: str
    event_id: UUID  # the original event, published again as the repair


@dataclass
class Reconciliation:
    since: datetime
    checked: int = 0  # events compared against inventory
    found: list[Discrepancy] = field(default_factory=list)
    repaired: int = 0  # events published again


def reconcile_sales(*, since: datetime | None = None, grace_seconds: float | None = None,
                    dry_run: bool = False) -> Reconciliation:
    """Compare the purchases and refunds whose events were committed since `since` (default:
    RECONCILE_SALES_WINDOW_SECONDS ago) and sent at least `grace_seconds` ago (default
    RECONCILE_SALES_GRACE_SECONDS) with what inventory did; publish the original event of each
    one it did not apply, unless `dry_run`."""
    now = timezone.now()
    since = since or now - timedelta(seconds=settings.RECONCILE_SALES_WINDOW_SECONDS)
    grace = settings.RECONCILE_SALES_GRACE_SECONDS if grace_seconds is None else grace_seconds
    events = (
        OutboxEvent.objects.using(DB)
        .filter(type__in=(PurchaseCompleted.TYPE, PaymentRefunded.TYPE), created_at__gte=since,
                sent_at__lte=now - timedelta(seconds=grace))
        .order_by("created_at")
        .values_list("id", "type", "key", "payload__data__restock")
    )
    result = Reconciliation(since=since)
    rows = events.iterator(chunk_size=CHUNK)
    while chunk := list(islice(rows, CHUNK)):
        effects = inventory.get_stock_effects({payment_id for _, _, payment_id, _ in chunk})
        for event_id, event_type, payment_id, restock in chunk:
            kind = _missing_effect(event_type, restock, effects[payment_id])
            if kind is not None:
                result.found.append(Discrepancy(kind, payment_id, event_id))
        result.checked += len(chunk)
    for discrepancy in result.found:
        logger.warning("reconcile_sales: %s for payment %s (event %s)", discrepancy.kind,
                       discrepancy.payment_id, discrepancy.event_id)
    if not dry_run:
        _repair(result)
    return result


def _missing_effect(event_type: str, restock: bool | None, effects: inventory.StockEffects) -> str | None:
    if event_type == PurchaseCompleted.TYPE:
        if effects.reservation == "committed":
            return None
        return RESERVATION_HELD if effects.reservation == "active" else SALE_MISSING
    if restock and not effects.restocked:
        return REFUND_MISSING
    return None


def _repair(result: Reconciliation) -> None:
    with transaction.atomic(using=DB):
        # Marked unsent together, and relayed in commit order: a payment's sale goes out before
        # its refund, on the same key.
        result.repaired = resend(DB, [discrepancy.event_id for discrepancy in result.found])
    for discrepancy in result.found:
        metrics.SALES_RECONCILIATION_FOUND.labels(kind=discrepancy.kind).inc()
        metrics.SALES_RECONCILIATION_REPAIRED.labels(kind=discrepancy.kind).inc()
    metrics.SALES_UNRECONCILED.set(len(result.found))
