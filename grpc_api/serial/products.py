"""apps/products/interface.py's types <-> products.proto's messages."""

from decimal import Decimal
from uuid import UUID

from apps.products.interface import ProductInfo
from grpc_api.gen import products_pb2


def product_message(product: ProductInfo) -> products_pb2.Product:
    return products_pb2.Product(
        id=str(product.id), sku=product.sku, name=product.name, price=str(product.price),
        currency=product.currency, is_active=product.is_active,
    )


def product_info(message: products_pb2.Product) -> ProductInfo:
    return ProductInfo(
        id=UUID(message.id), sku=message.sku, name=message.name, price=Decimal(message.price),
        currency=message.currency, is_active=message.is_active,
    )
