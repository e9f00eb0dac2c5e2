"""The products servicer: proto -> apps.products.local -> proto."""

from uuid import UUID

from apps.products import local
from grpc_api.gen import products_pb2, products_pb2_grpc
from grpc_api.serial import products as serial

SERVICE_NAME = products_pb2.DESCRIPTOR.services_by_name["Products"].full_name


class ProductsServicer(products_pb2_grpc.ProductsServicer):
    def GetProducts(self, request, context):
        products = local.get_products([UUID(product_id) for product_id in request.product_ids])
        return products_pb2.GetProductsResponse(
            products=[serial.product_message(product) for product in products.values()],
        )


def add_to_server(server):
    products_pb2_grpc.add_ProductsServicer_to_server(ProductsServicer(), server)
