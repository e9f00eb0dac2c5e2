"""apps/products/interface.py over gRPC."""

from collections.abc import Iterable
from uuid import UUID

from apps.products import interface
from apps.products.interface import ProductInfo
from grpc_api.clients.base import RemoteApp
from grpc_api.gen import products_pb2, products_pb2_grpc
from grpc_api.serial import products as serial


class Client(RemoteApp):
    app = "products"
    interface = interface
    service = products_pb2.DESCRIPTOR.services_by_name["Products"]
    stub_class = products_pb2_grpc.ProductsStub

    def get_products(self, product_ids: Iterable[UUID]) -> dict[UUID, ProductInfo]:
        request = products_pb2.GetProductsRequest(product_ids=[str(pid) for pid in product_ids])
        products = (serial.product_info(product) for product in self._call("GetProducts", request).products)
        return {product.id: product for product in products}
