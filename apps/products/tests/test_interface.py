"""`apps.products.interface`: what payments prices a purchase with."""

import uuid
from decimal import Decimal

import pytest
from django.db import connections

from apps.products import interface
from apps.products.models import Product

pytestmark = pytest.mark.django_db(databases=["products"])


def test_get_products_answers_many_ids_in_one_query(make_product, django_assert_num_queries):
    products = [make_product(price=Decimal(f"{n}.25")) for n in range(1, 31)]
    inactive = make_product(status=Product.Status.INACTIVE, price=Decimal("3.00"))
    unknown = uuid.uuid4()
    with django_assert_num_queries(1, connection=connections["products"]):
        found = interface.get_products([p.id for p in products] + [inactive.id, unknown])
    assert set(found) == {p.id for p in products} | {inactive.id}
    assert found[products[0].id] == interface.ProductInfo(
        id=products[0].id, sku=products[0].sku, name=products[0].name, price=Decimal("1.25"),
        currency="USD", is_active=True)
    assert found[inactive.id].is_active is False and found[inactive.id].price == Decimal("3.00")


def test_get_products_of_nothing_is_empty():
    assert interface.get_products([]) == {}
