"""Catalogue rows for products' own tests, made through its services."""

from decimal import Decimal

import pytest

from apps.products import services


@pytest.fixture
def make_product():
    counter = iter(range(1, 10_000))

    def make(**fields):
        number = next(counter)
        fields = {"sku": f"TEST-{number:04d}", "name": f"Product {number}", "price": Decimal("10.00"),
                  **fields}
        return services.create_product(**fields)

    return make


@pytest.fixture
def make_category():
    def make(name, parent=None, slug=None):
        from django.utils.text import slugify

        return services.create_category(name=name, slug=slug or slugify(name), parent=parent)

    return make
