"""apps/inventory/interface.py over gRPC."""

import logging
from collections.abc import Callable, Iterable, Sequence
from datetime import UTC
from uuid import UUID

from apps.common.errors import DomainError, ServiceUnavailable
from apps.inventory import interface
from apps.inventory.interface import (
    Availability,
    PendingReservation,
    ReservationInfo,
    StockEffects,
    StockLine,
)
from grpc_api.clients.base import RemoteApp
from grpc_api.gen import inventory_pb2, inventory_pb2_grpc

logger = logging.getLogger(__name__)


class Client(RemoteApp):
    app = "inventory"
    interface = interface
    service = inventory_pb2.DESCRIPTOR.services_by_name["Inventory"]
    stub_class = inventory_pb2_grpc.InventoryStub
    # Retrying the writes is safe too: each is idempotent on its `reference`, so a retry after a
    # lost answer finds the first attempt's effect instead of applying it twice.
    idempotent_methods = frozenset({
        "Reserve", "Release", "ReceiveStock", "GetAvailability", "GetStockEffects",
    })

    def reserve(
        self, reference: str, lines: Sequence[StockLine], ttl_seconds: int | None = None,
    ) -> ReservationInfo:
        request = inventory_pb2.ReserveRequest(
            reference=reference, lines=_stock_lines(lines), ttl_seconds=ttl_seconds,
        )
        return _reservation(self._call("Reserve", request))

    def begin_reserve(
        self, reference: str, lines: Sequence[StockLine], ttl_seconds: int | None = None,
    ) -> PendingReservation:
        request = inventory_pb2.ReserveRequest(
            reference=reference, lines=_stock_lines(lines), ttl_seconds=ttl_seconds,
        )
        return ReservationInFlight(self, reference, self._start("Reserve", request))

    def release(self, reference: str) -> None:
        self._call("Release", inventory_pb2.ReleaseRequest(reference=reference))

    def receive_stock(self, reference: str, lines: Sequence[StockLine], reason: str) -> None:
        request = inventory_pb2.ReceiveStockRequest(
            reference=reference, lines=_stock_lines(lines), reason=reason,
        )
        self._call("ReceiveStock", request)

    def get_availability(self, product_ids: Iterable[UUID]) -> dict[UUID, Availability]:
        request = inventory_pb2.GetAvailabilityRequest(product_ids=[str(pid) for pid in product_ids])
        return {
            UUID(item.product_id): Availability(
                product_id=UUID(item.product_id), on_hand=item.on_hand, reserved=item.reserved,
                available=item.available,
            )
            for item in self._call("GetAvailability", request).availability
        }

    def get_stock_effects(self, references: Iterable[str]) -> dict[str, StockEffects]:
        request = inventory_pb2.GetStockEffectsRequest(references=list(references))
        return {
            item.reference: StockEffects(
                reference=item.reference,
                reservation=item.reservation if item.HasField("reservation") else None,
                restocked=item.restocked,
            )
            for item in self._call("GetStockEffects", request).effects
        }


class ReservationInFlight:
    """A Reserve call on the wire while the caller does other work."""

    def __init__(self, client: Client, reference: str, answer: Callable[[], inventory_pb2.Reservation]):
        self.client = client
        self.reference = reference
        self.answer = answer

    def result(self) -> ReservationInfo:
        return _reservation(self.answer())

    def discard(self) -> None:
        # Wait for the answer first: a release that overtook the Reserve would find nothing.
        try:
            self.result()
        except DomainError:  # nothing reserved (or no answer: it expires)
            return
        try:
            self.client.release(self.reference)
        except ServiceUnavailable:
            logger.warning("could not release reservation %s; it will expire", self.reference)


def _reservation(reservation: inventory_pb2.Reservation) -> ReservationInfo:
    return ReservationInfo(
        reference=reservation.reference,
        status=reservation.status,
        lines=tuple(StockLine(UUID(line.product_id), line.quantity) for line in reservation.lines),
        expires_at=reservation.expires_at.ToDatetime(tzinfo=UTC),
    )


def _stock_lines(lines: Sequence[StockLine]) -> list[inventory_pb2.StockLine]:
    return [inventory_pb2.StockLine(product_id=str(line.product_id), quantity=line.quantity)
            for line in lines]
