"""apps/inventory/interface.py over gRPC."""

import logging
from collections.abc import Callable, Iterable, Sequence
from uuid import UUID

from apps.common.api.errors import DomainError, ServiceUnavailable
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
from grpc_api.serial import inventory as serial

logger = logging.getLogger(__name__)


class Client(RemoteApp):
    app = "inventory"
    interface = interface
    service = inventory_pb2.DESCRIPTOR.services_by_name["Inventory"]
    stub_class = inventory_pb2_grpc.InventoryStub

    def reserve(
        self, reference: str, lines: Sequence[StockLine], ttl_seconds: int | None = None,
    ) -> ReservationInfo:
        request = inventory_pb2.ReserveRequest(
            reference=reference, lines=serial.stock_line_messages(lines), ttl_seconds=ttl_seconds,
        )
        return serial.reservation_info(self._call("Reserve", request))

    def begin_reserve(
        self, reference: str, lines: Sequence[StockLine], ttl_seconds: int | None = None,
    ) -> PendingReservation:
        request = inventory_pb2.ReserveRequest(
            reference=reference, lines=serial.stock_line_messages(lines), ttl_seconds=ttl_seconds,
        )
        return ReservationInFlight(self, reference, self._start("Reserve", request))

    def release(self, reference: str) -> None:
        self._call("Release", inventory_pb2.ReleaseRequest(reference=reference))

    def receive_stock(self, reference: str, lines: Sequence[StockLine], reason: str) -> None:
        request = inventory_pb2.ReceiveStockRequest(
            reference=reference, lines=serial.stock_line_messages(lines), reason=reason,
        )
        self._call("ReceiveStock", request)

    def get_availability(self, product_ids: Iterable[UUID]) -> dict[UUID, Availability]:
        request = inventory_pb2.GetAvailabilityRequest(product_ids=[str(pid) for pid in product_ids])
        answer = self._call("GetAvailability", request).availability
        return {item.product_id: item for item in map(serial.availability, answer)}

    def get_stock_effects(self, references: Iterable[str]) -> dict[str, StockEffects]:
        request = inventory_pb2.GetStockEffectsRequest(references=list(references))
        answer = self._call("GetStockEffects", request).effects
        return {item.reference: item for item in map(serial.stock_effects, answer)}


class ReservationInFlight:
    """A Reserve call on the wire while the caller does other work."""

    def __init__(self, client: Client, reference: str, answer: Callable[[], inventory_pb2.Reservation]):
        self.client = client
        self.reference = reference
        self.answer = answer

    def result(self) -> ReservationInfo:
        return serial.reservation_info(self.answer())

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

