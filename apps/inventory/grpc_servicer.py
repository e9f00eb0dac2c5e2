"""The inventory servicer: proto -> apps.inventory.local -> proto."""

from uuid import UUID

from google.protobuf.empty_pb2 import Empty
from google.protobuf.timestamp_pb2 import Timestamp

from apps.inventory import local
from apps.inventory.interface import StockLine
from grpc_api.gen import inventory_pb2, inventory_pb2_grpc

SERVICE_NAME = inventory_pb2.DESCRIPTOR.services_by_name["Inventory"].full_name


class InventoryServicer(inventory_pb2_grpc.InventoryServicer):
    def Reserve(self, request, context):
        ttl_seconds = request.ttl_seconds if request.HasField("ttl_seconds") else None
        reservation = local.reserve(request.reference, _stock_lines(request.lines), ttl_seconds)
        expires_at = Timestamp()
        expires_at.FromDatetime(reservation.expires_at)
        return inventory_pb2.Reservation(
            reference=reservation.reference, status=reservation.status, expires_at=expires_at,
            lines=[inventory_pb2.StockLine(product_id=str(line.product_id), quantity=line.quantity)
                   for line in reservation.lines],
        )

    def Release(self, request, context):
        local.release(request.reference)
        return Empty()

    def ReceiveStock(self, request, context):
        local.receive_stock(request.reference, _stock_lines(request.lines), request.reason)
        return Empty()

    def GetAvailability(self, request, context):
        availability = local.get_availability([UUID(product_id) for product_id in request.product_ids])
        return inventory_pb2.GetAvailabilityResponse(availability=[
            inventory_pb2.Availability(
                product_id=str(item.product_id), on_hand=item.on_hand, reserved=item.reserved,
                available=item.available,
            )
            for item in availability.values()
        ])

    def GetStockEffects(self, request, context):
        effects = local.get_stock_effects(list(request.references))
        return inventory_pb2.GetStockEffectsResponse(effects=[
            inventory_pb2.StockEffects(reference=item.reference, reservation=item.reservation,
                                       restocked=item.restocked)
            for item in effects.values()
        ])


def _stock_lines(lines) -> list[StockLine]:
    return [StockLine(product_id=UUID(line.product_id), quantity=line.quantity) for line in lines]


def add_to_server(server):
    inventory_pb2_grpc.add_InventoryServicer_to_server(InventoryServicer(), server)
