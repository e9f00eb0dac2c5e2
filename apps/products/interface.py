"""The products app's public face: the only module other apps import from products."""

from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal
from typing import Protocol
from uuid import UUID

from apps.common.registry import implementation


@dataclass(frozen=True)
class ProductInfo:
    id: UUID
    sku: str
    name: str
    price: Decimal
    currency: str
    is_active: bool


class ProductsInterface(Protocol):
    """What `local.py` and the gRPC client implement, and the functions below offer: checked
    against all three by `apps.common.registry.drift` (when the registry picks one, and in a test)."""

    def get_products(self, product_ids: Iterable[UUID]) -> dict[UUID, ProductInfo]: ...


# No errors of its own: a caller meets only the common ones (ServiceUnavailable).
ERRORS = ()


def get_products(product_ids: Iterable[UUID]) -> dict[UUID, ProductInfo]:
    """Price and status of many products in one call. Unknown ids are absent from the result."""
    return implementation("products").get_products(list(product_ids))
