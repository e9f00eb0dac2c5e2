"""`manage.py seed_demo`: a realistic tree and catalogue, idempotent, extendable; and the
zero-setup SQLite default, where search falls back to a plain match."""

import json
from io import StringIO

import pytest
from django.core.management import call_command

from apps.inventory.interface import get_availability
from apps.products import demo_catalogue
from apps.products.models import Category, OutboxEvent, Product
from tests.support.processes import manage, sqlite_env


def _seed(products: int) -> str:
    out = StringIO()
    call_command("seed_demo", products=products, no_stock=True, batch_size=20, stdout=out, stderr=StringIO())
    return out.getvalue()


@pytest.mark.django_db(databases=["products"])
def test_seeds_a_tree_and_products_and_reruns_add_only_what_is_missing():
    assert "30 products added, 0 already there" in _seed(30)
    snapshot = {p.sku: (p.id, p.name, p.price, p.category_id) for p in Product.objects.all()}
    assert len(snapshot) == 30

    laptops = Category.objects.get(slug="laptops")
    assert laptops.path == "electronics/computers/laptops" and laptops.parent.parent.slug == "electronics"
    leaves = [c for c in Category.objects.all() if not c.children.exists()]
    assert {p.category_id for p in Product.objects.all()} == {c.id for c in leaves}
    assert all(p.price > 0 and p.currency == "USD" and p.image_urls and p.description
               for p in Product.objects.all())
    assert len({p.name for p in Product.objects.all()}) > 25  # varied names, not "Product 1..30"

    categories = Category.objects.count()
    assert "0 products added, 30 already there" in _seed(30)
    assert Category.objects.count() == categories
    assert {p.sku: (p.id, p.name, p.price, p.category_id) for p in Product.objects.all()} == snapshot

    assert "15 products added, 30 already there" in _seed(45)
    assert Product.objects.count() == 45
    # Each product was announced once (inventory makes its stock record from the event).
    announced = [event.key for event in OutboxEvent.objects.filter(type="products.product_changed")]
    assert sorted(announced) == sorted(str(pk) for pk in Product.objects.values_list("pk", flat=True))
    assert Product.objects.get(sku=demo_catalogue.sku(45)).id == demo_catalogue.product_id(45)


@pytest.mark.django_db(databases=["products"])
def test_seeded_products_are_searchable_on_postgres(api_client):
    _seed(40)
    product = Product.objects.order_by("sku").first()
    noun = product.name.split()[-1]
    body = api_client.get("/api/v1/products", {"search": noun, "page_size": 100}).json()
    assert body["count"] >= 1 and product.name in [p["name"] for p in body["results"]]


# Runs in the child process: the REST API over the SQLite files the seed filled.
SQLITE_QUERIES = """
import json
from django.db import connections
from rest_framework.test import APIClient
from apps.products.models import Category, OutboxEvent, Product
client = APIClient()
electronics = Category.objects.get(slug="electronics")
name = Product.objects.order_by("sku").first().name
print(json.dumps({
    "vendor": connections["products"].vendor,
    "name": name,
    "search": [p["name"] for p in client.get("/api/v1/products", {"search": name.split()[-1].lower(),
                                                                     "page_size": 100}).json()["results"]],
    "sku_search": client.get("/api/v1/products", {"search": "demo-0000001"}).json()["count"],
    "electronics": client.get("/api/v1/products", {"category": str(electronics.id)}).json()["count"],
    "expected_electronics": Product.objects.filter(category__path__startswith="electronics").count(),
    "cheap_first": [p["price"] for p in
                    client.get("/api/v1/products", {"ordering": "price"}).json()["results"]],
    "bad_filter": client.get("/api/v1/products", {"in_stock": "maybe"}).status_code,
}))
"""


def test_the_sqlite_default_migrates_seeds_and_searches_without_postgres(tmp_path):
    env = {**sqlite_env(tmp_path), "DJANGO_ALLOWED_HOSTS": "testserver"}
    for command in (["migrate", "--verbosity", "0"], ["seed_demo", "--products", "40", "--no-stock"],
                    ["seed_demo", "--products", "40", "--no-stock"]):
        result = manage(command, env)
        assert result.returncode == 0, result.stderr
    assert "0 products added, 40 already there" in result.stdout
    result = manage(["shell", "-c", SQLITE_QUERIES], env)
    assert result.returncode == 0, result.stderr
    found = json.loads(result.stdout.strip().splitlines()[-1])
    assert found["vendor"] == "sqlite"
    assert found["name"] in found["search"]
    assert found["sku_search"] == 1
    assert found["electronics"] == found["expected_electronics"] > 0
    assert found["cheap_first"] == sorted(found["cheap_first"], key=float)
    assert found["bad_filter"] == 400


@pytest.mark.django_db(databases=["products", "inventory"], transaction=True)
def test_seeded_stock_reaches_inventory_and_in_stock_once():
    for _ in range(2):
        call_command("seed_demo", products=30, batch_size=20, stdout=StringIO(), stderr=StringIO())
    products = list(Product.objects.all())
    expected = {p.id: demo_catalogue.demo_stock(p.sku) for p in products}
    availability = get_availability(expected)
    assert {product_id: availability[product_id].on_hand for product_id in expected} == expected
    assert {p.id: p.in_stock for p in products} == {pid: units > 0 for pid, units in expected.items()}
    assert 0 < sum(p.in_stock for p in products) < len(products)  # some sold out, most not
