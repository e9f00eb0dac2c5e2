"""apps/inventory/interface.py's types <-> inventory.proto's messages."""

from collections.abc import Iterable
from datetime import UTC
from uuid import UUID

from google.protobuf.timestamp_pb2 import Timestamp

from apps.inventory.interface import Availability, ReservationInfo, StockEffects, StockLine
from grpc_api.gen import inventory_pb2


def stock_line_messages(lines: Iterable[StockLine]) -> list[inventory_pb2.StockLine]:
    return [inventory_pb2.StockLine(product_id=str(line.product_id), quantity=line.quantity)
            for line in lines]


def stock_lines(messages: Iterable[inventory_pb2.StockLine]) -> list[StockLine]:
    return [StockLine(product_id=UUID(line.product_id), quantity=line.quantity) for line in messages]


def reservation_message(reservation: ReservationInfo) -> inventory_pb2.Reservation:
    expires_at = Timestamp()
    expires_at.FromDatetime(reservation.expires_at)
    return inventory_pb2.Reservation(
        reference=reservation.reference, status=reservation.status, expires_at=expires_at,
        lines=stock_line_messages(reservation.lines),
    )


def reservation_info(message: inventory_pb2.Reservation) -> ReservationInfo:
    return ReservationInfo(
        reference=message.reference, status=message.status, lines=tuple(stock_lines(message.lines)),
        expires_at=message.expires_at.ToDatetime(tzinfo=UTC),
    )


def availability_message(availability: Availability) -> inventory_pb2.Availability:
    return inventory_pb2.Availability(
        product_id=str(availability.product_id), on_hand=availability.on_hand,
        reserved=availability.reserved, available=availability.available,
    )


def availability(message: inventory_pb2.Availability) -> Availability:
    return Availability(
        product_id=UUID(message.product_id), on_hand=message.on_hand, reserved=message.reserved,
        available=message.available,
    )


def stock_effects_message(effects: StockEffects) -> inventory_pb2.StockEffects:
    return inventory_pb2.StockEffects(
        reference=effects.reference, reservation=effects.reservation, restocked=effects.restocked,
    )


def stock_effects(message: inventory_pb2.StockEffects) -> StockEffects:
    return StockEffects(
        reference=message.reference,
        reservation=message.reservation if message.HasField("reservation") else None,
        restocked=message.restocked,
    )
