"""Contract parity: the same interface cases against `apps.products.local` (in-process) and against
`grpc_api.clients.products.Client` talking to a real `manage.py grpcserve`."""

from decimal import Decimal
from uuid import uuid4

from apps.products import services as product_services
from apps.products.interface import ProductInfo
from tests.support.grpc import grpc_db

pytestmark = grpc_db


class TestProducts:
    def test_known_products_with_exact_prices_unknown_ones_absent(self, products_api):
        lamp = product_services.create_product(sku="LAMP-1", name="Lamp", price=Decimal("19.90"))
        desk = product_services.create_product(sku="DESK-1", name="Desk", price=Decimal("250.00"),
                                               currency="EUR", status="inactive")
        unknown = uuid4()
        assert products_api.get_products([lamp.id, desk.id, unknown]) == {
            lamp.id: ProductInfo(id=lamp.id, sku="LAMP-1", name="Lamp", price=Decimal("19.90"),
                                 currency="USD", is_active=True),
            desk.id: ProductInfo(id=desk.id, sku="DESK-1", name="Desk", price=Decimal("250.00"),
                                 currency="EUR", is_active=False),
        }

    def test_no_ids_no_products(self, products_api):
        assert products_api.get_products([]) == {}
