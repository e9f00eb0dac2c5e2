"""The inventory app's public face: the only module other apps import from inventory.

Every write is idempotent on its `reference` (the payment id), so a retried call or a
re-delivered event changes stock once.
"""

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Protocol
from uuid import UUID

from apps.common.registry import implementation
from apps.inventory.errors import InsufficientStock, InvalidQuantity, ReservationNotFound


@dataclass(frozen=True)
class StockLine:
    product_id: UUID
    quantity: int


@dataclass(frozen=True)
class Availability:
    product_id: UUID
    on_hand: int
    reserved: int
    available: int


@dataclass(frozen=True)
class ReservationInfo:
    reference: str
    status: str  # "active", "released", "committed", "expired"
    lines: tuple[StockLine, ...]
    expires_at: datetime


@dataclass(frozen=True)
class StockEffects:
    """What inventory did for one payment, for reconciling payments against it: `reservation` is
    the status of the payment's reservation ("committed" once its sale is applied; None when
    inventory never saw the payment), `restocked` whether a refund put its units back."""

    reference: str
    reservation: str | None
    restocked: bool


class PendingReservation(Protocol):
    """A reservation `begin_reserve` started.

    `result()` answers as `reserve` would, raising its errors. `discard()`, for a caller that
    stopped before using it, gives back whatever it reserved; it raises nothing (a reservation
    it could not give back expires on its own).
    """

    def result(self) -> "ReservationInfo": ...

    def discard(self) -> None: ...


class InventoryInterface(Protocol):
    """What `local.py` and the gRPC client implement, and the functions below offer: checked
    against all three by `apps.common.registry.drift` (when the registry picks one, and in a test)."""

    def reserve(
        self, reference: str, lines: Sequence[StockLine], ttl_seconds: int | None = None,
    ) -> ReservationInfo: ...

    def begin_reserve(
        self, reference: str, lines: Sequence[StockLine], ttl_seconds: int | None = None,
    ) -> PendingReservation: ...

    def release(self, reference: str) -> None: ...

    def receive_stock(self, reference: str, lines: Sequence[StockLine], reason: str) -> None: ...

    def get_availability(self, product_ids: Iterable[UUID]) -> dict[UUID, Availability]: ...

    def get_stock_effects(self, references: Iterable[str]) -> dict[str, StockEffects]: ...


# The errors a caller can meet, by class also over gRPC (grpc_api/errors.py).
ERRORS = (InsufficientStock, InvalidQuantity, ReservationNotFound)


def reserve(reference: str, lines: Sequence[StockLine], ttl_seconds: int | None = None) -> ReservationInfo:
    """Reserve every line in one step, all or nothing. Raises InsufficientStock."""
    return implementation("inventory").reserve(reference, list(lines), ttl_seconds)


def begin_reserve(
    reference: str, lines: Sequence[StockLine], ttl_seconds: int | None = None,
) -> PendingReservation:
    """`reserve`, started now and answered later, so that the caller can do other work meanwhile.

    Over gRPC the call is in flight at once; in process (no round trip to save) it runs at
    `result()`, and a discarded one never runs.
    """
    return implementation("inventory").begin_reserve(reference, list(lines), ttl_seconds)


def release(reference: str) -> None:
    """Give an active reservation's units back. Releasing twice, or an unknown one, is a no-op."""
    implementation("inventory").release(reference)


def receive_stock(reference: str, lines: Sequence[StockLine], reason: str) -> None:
    """Add units on hand (goods received, demo seeding), one ledger entry per line."""
    implementation("inventory").receive_stock(reference, list(lines), reason)


def get_availability(product_ids: Iterable[UUID]) -> dict[UUID, Availability]:
    """Stock of many products in one call; unknown products answer zeros."""
    return implementation("inventory").get_availability(list(product_ids))


def get_stock_effects(references: Iterable[str]) -> dict[str, StockEffects]:
    """The effects of many payments in one call; every reference asked is answered."""
    return implementation("inventory").get_stock_effects(list(references))
