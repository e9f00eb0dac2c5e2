import uuid
from collections.abc import Iterable

import pytest
from rest_framework_simplejwt.tokens import AccessToken

from apps.inventory import services
from apps.inventory.interface import StockLine
from apps.inventory.models import StockRecord


def bearer(is_staff: bool, user_id: uuid.UUID | None = None) -> str:
    # A local stand-in until tests/support/auth.py (products branch) lands on main.
    token = AccessToken()
    token["user_id"] = str(user_id or uuid.uuid4())
    token["is_staff"] = is_staff
    return f"Bearer {token}"


@pytest.fixture
def staff_id():
    return uuid.uuid4()


@pytest.fixture
def staff_client(api_client, staff_id):
    api_client.credentials(HTTP_AUTHORIZATION=bearer(is_staff=True, user_id=staff_id))
    return api_client


@pytest.fixture
def shopper_client(api_client):
    api_client.credentials(HTTP_AUTHORIZATION=bearer(is_staff=False))
    return api_client


def stock_up(units: int | Iterable[int]) -> list[uuid.UUID]:
    """Products with `units` on hand each (one product for an int), through a receipt."""
    counts = [units] if isinstance(units, int) else list(units)
    product_ids = [uuid.uuid4() for _ in counts]
    services.receive_stock(f"receipt-{uuid.uuid4()}", [
        StockLine(product_id, count) for product_id, count in zip(product_ids, counts, strict=True)
    ], reason="test stock")
    return product_ids


def stock_of(product_id: uuid.UUID) -> StockRecord:
    return StockRecord.objects.using("inventory").get(product_id=product_id)
