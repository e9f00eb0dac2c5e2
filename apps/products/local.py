"""The in-process implementation of `apps.products.interface`."""

from collections.abc import Iterable
from uuid import UUID

from apps.products import selectors
from apps.products.interface import ProductInfo


def get_products(product_ids: Iterable[UUID]) -> dict[UUID, ProductInfo]:
    return {
        product.id: ProductInfo(
            id=product.id, sku=product.sku, name=product.name, price=product.price,
            currency=product.currency, is_active=product.is_active,
        )
        for product in selectors.products_by_id(product_ids)
    }
