"""The inventory servicer: proto -> apps.inventory.local -> proto."""

from uuid import UUID

from google.protobuf.empty_pb2 import Empty

from apps.inventory import local
from grpc_api.gen import inventory_pb2, inventory_pb2_grpc
from grpc_api.serial import inventory as serial

SERVICE_NAME = inventory_pb2.DESCRIPTOR.services_by_name["Inventory"].full_name


class InventoryServicer(inventory_pb2_grpc.InventoryServicer):
    def Reserve(self, request, context):
        ttl_seconds = request.ttl_seconds if request.HasField("ttl_seconds") else None
        reservation = local.reserve(request.reference, serial.stock_lines(request.lines), ttl_seconds)
        return serial.reservation_message(reservation)

    def Release(self, request, context):
        local.release(request.reference)
        return Empty()

    def ReceiveStock(self, request, context):
        local.receive_stock(request.reference, serial.stock_lines(request.lines), request.reason)
        return Empty()

    def GetAvailability(self, request, context):
        availability = local.get_availability([UUID(product_id) for product_id in request.product_ids])
        return inventory_pb2.GetAvailabilityResponse(
            availability=[serial.availability_message(item) for item in availability.values()],
        )

    def GetStockEffects(self, request, context):
        effects = local.get_stock_effects(list(request.references))
        return inventory_pb2.GetStockEffectsResponse(
            effects=[serial.stock_effects_message(item) for item in effects.values()],
        )


def add_to_server(server):
    inventory_pb2_grpc.add_InventoryServicer_to_server(InventoryServicer(), server)
