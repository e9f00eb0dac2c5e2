"""The in-process implementation of `apps.inventory.interface`."""

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from uuid import UUID

from apps.inventory import selectors, services
from apps.inventory.interface import (
    Availability,
    PendingReservation,
    ReservationInfo,
    StockEffects,
    StockLine,
)
from apps.inventory.models import Reservation


def reserve(reference: str, lines: Sequence[StockLine], ttl_seconds: int | None = None) -> ReservationInfo:
    return _reservation(services.reserve(reference, lines, ttl_seconds))


@dataclass(frozen=True)
class DeferredReservation:
    """In process there is no round trip to overlap: reserve when the answer is asked for."""

    reference: str
    lines: Sequence[StockLine]
    ttl_seconds: int | None

    def result(self) -> ReservationInfo:
        return reserve(self.reference, self.lines, self.ttl_seconds)

    def discard(self) -> None:
        """Never started: nothing to give back."""


def begin_reserve(
    reference: str, lines: Sequence[StockLine], ttl_seconds: int | None = None,
) -> PendingReservation:
    return DeferredReservation(reference, lines, ttl_seconds)


def release(reference: str) -> None:
    services.release(reference)


def receive_stock(reference: str, lines: Sequence[StockLine], reason: str) -> None:
    services.receive_stock(reference, lines, reason)


def get_availability(product_ids: Iterable[UUID]) -> dict[UUID, Availability]:
    return {
        product_id: Availability(product_id=product_id, on_hand=record.on_hand, reserved=record.reserved,
                                 available=record.available)
        for product_id, record in selectors.stock_records(product_ids).items()
    }


def get_stock_effects(references: Iterable[str]) -> dict[str, StockEffects]:
    return {
        reference: StockEffects(reference=reference, reservation=status, restocked=restocked)
        for reference, (status, restocked) in selectors.stock_effects(references).items()
    }


def _reservation(record: Reservation) -> ReservationInfo:
    # A reservation just made holds its lines; one seen before reads them.
    lines = sorted(record.lines.all(), key=lambda line: line.id)
    return ReservationInfo(
        reference=record.reference,
        status=record.status,
        lines=tuple(StockLine(product_id=line.product_id, quantity=line.quantity) for line in lines),
        expires_at=record.expires_at,
    )
