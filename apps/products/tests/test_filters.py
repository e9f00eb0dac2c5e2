"""`GET /products`: every filter, full-text search on PostgreSQL, ordering, pagination, 400s."""

import uuid
from decimal import Decimal

import pytest

from apps.products.models import Product

pytestmark = pytest.mark.django_db(databases=["products"])


@pytest.fixture
def catalogue(make_category, make_product):
    electronics = make_category("Electronics")
    phones = make_category("Phones", parent=electronics)
    android = make_category("Android", parent=phones)
    laptops = make_category("Laptops", parent=electronics)
    home = make_category("Home")
    products = {
        "phone": make_product(name="Pixel phone", price=Decimal("499.00"), category=phones),
        "android": make_product(name="Rugged android handset", price=Decimal("20.00"), category=android),
        "laptop": make_product(name="Ultralight laptop", price=Decimal("999.99"), category=laptops),
        "lamp": make_product(name="Desk lamp", price=Decimal("10.00"), category=home,
                             description="Warm light for wireless charging desks."),
        "headphones": make_product(sku="AUD-7781", name="Wireless headphones", price=Decimal("5.00")),
        "hidden": make_product(name="Discontinued wireless phone", price=Decimal("20.00"), category=phones,
                               status=Product.Status.INACTIVE),
    }
    Product.objects.filter(pk__in=[products["phone"].pk, products["lamp"].pk]).update(in_stock=True)
    return {"categories": {c.slug: c for c in (electronics, phones, android, laptops, home)}, **products}


def _names(client, query=""):
    response = client.get(f"/api/v1/products{query}")
    assert response.status_code == 200, response.content
    return [product["name"] for product in response.json()["results"]]


def _ids(client, query=""):
    return {product["id"] for product in client.get(f"/api/v1/products{query}").json()["results"]}


def test_the_public_sees_active_products_newest_first(api_client, catalogue):
    assert _names(api_client) == ["Wireless headphones", "Desk lamp", "Ultralight laptop",
                                  "Rugged android handset", "Pixel phone"]


class TestCategory:
    @pytest.mark.parametrize(("slug", "expected"), [
        ("electronics", {"phone", "android", "laptop"}),
        ("phones", {"phone", "android"}),
        ("android", {"android"}),
        ("home", {"lamp"}),
    ])
    def test_includes_every_descendant(self, api_client, catalogue, slug, expected):
        category = catalogue["categories"][slug]
        assert _ids(api_client, f"?category={category.id}") == {str(catalogue[key].id) for key in expected}

    def test_a_moved_subtree_follows_its_new_parent(self, api_client, catalogue):
        phones, home = catalogue["categories"]["phones"], catalogue["categories"]["home"]
        phones.parent = home
        phones.save()
        assert _ids(api_client, f"?category={home.id}") == {
            str(catalogue[key].id) for key in ("lamp", "phone", "android")}
        assert _ids(api_client, f"?category={catalogue['categories']['electronics'].id}") == {
            str(catalogue["laptop"].id)}


class TestPriceAndStock:
    def test_bounds_are_inclusive(self, api_client, catalogue):
        assert _names(api_client, "?min_price=10&max_price=499&ordering=price") == [
            "Desk lamp", "Rugged android handset", "Pixel phone"]
        assert _names(api_client, "?min_price=999.99") == ["Ultralight laptop"]
        assert _names(api_client, "?max_price=5") == ["Wireless headphones"]
        assert _names(api_client, "?min_price=20&max_price=20") == ["Rugged android handset"]

    def test_in_stock(self, api_client, catalogue):
        assert set(_names(api_client, "?in_stock=true")) == {"Pixel phone", "Desk lamp"}
        assert len(_names(api_client, "?in_stock=false")) == 3

    def test_filters_combine(self, api_client, catalogue):
        electronics = catalogue["categories"]["electronics"]
        assert _names(api_client, f"?category={electronics.id}&max_price=500&in_stock=false") == [
            "Rugged android handset"]


class TestSearchOnPostgres:
    def test_stemmed_words_in_the_name_rank_above_the_description(self, api_client, catalogue):
        # "headphone" stems like "headphones"; the lamp matches only in its description (weight B).
        assert _names(api_client, "?search=wireless") == ["Wireless headphones", "Desk lamp"]
        assert _names(api_client, "?search=headphone") == ["Wireless headphones"]

    def test_web_search_syntax(self, api_client, catalogue):
        assert _names(api_client, "?search=wireless -lamp") == ["Wireless headphones"]
        assert _names(api_client, '?search="desk lamp"') == ["Desk lamp"]
        assert _names(api_client, "?search=laptop or lamp&ordering=name") == [
            "Desk lamp", "Ultralight laptop"]

    def test_matches_a_sku_exactly_or_by_prefix_in_any_case(self, api_client, catalogue):
        assert _names(api_client, "?search=AUD-7781") == ["Wireless headphones"]
        assert _names(api_client, "?search=aud-77") == ["Wireless headphones"]

    def test_combines_with_filters_and_ordering(self, api_client, catalogue):
        assert _names(api_client, "?search=phone&ordering=-price") == ["Pixel phone"]
        assert _names(api_client, "?search=wireless&in_stock=true") == ["Desk lamp"]

    def test_uses_the_search_vector_kept_by_the_database(self, catalogue):
        catalogue["lamp"].description = "Now a cordless model."
        catalogue["lamp"].save()
        assert Product.objects.filter(search_vector="cordless").get() == catalogue["lamp"]
        assert not Product.objects.filter(search_vector="wireless", pk=catalogue["lamp"].pk).exists()

    @pytest.mark.parametrize("term", ["'", "&|!", "a:*", "(", "\\", "%_", "::", "-", '"', "—"])
    def test_any_text_answers_200(self, api_client, catalogue, term):
        response = api_client.get("/api/v1/products", {"search": term})
        assert response.status_code == 200, response.content

    def test_a_blank_search_is_no_filter(self, api_client, catalogue):
        assert len(_names(api_client, "?search=")) == 5


BY_PRICE = ["Wireless headphones", "Desk lamp", "Rugged android handset", "Pixel phone", "Ultralight laptop"]
BY_NAME = ["Desk lamp", "Pixel phone", "Rugged android handset", "Ultralight laptop", "Wireless headphones"]
BY_CREATION = ["Pixel phone", "Rugged android handset", "Ultralight laptop", "Desk lamp",
               "Wireless headphones"]


@pytest.mark.parametrize(("ordering", "expected"), [
    ("price", BY_PRICE), ("-price", BY_PRICE[::-1]),
    ("name", BY_NAME), ("-name", BY_NAME[::-1]),
    ("created_at", BY_CREATION), ("-created_at", BY_CREATION[::-1]),
])
def test_ordering(api_client, catalogue, ordering, expected):
    assert _names(api_client, f"?ordering={ordering}") == expected


def test_pagination_walks_every_product_once(api_client, catalogue):
    first = api_client.get("/api/v1/products?page_size=2&ordering=price").json()
    assert first["count"] == 5 and first["previous"] is None and len(first["results"]) == 2
    seen = [p["name"] for p in first["results"]]
    page = first
    while page["next"]:
        page = api_client.get(page["next"]).json()
        seen += [p["name"] for p in page["results"]]
    assert seen == _names(api_client, "?ordering=price")
    assert api_client.get("/api/v1/products?page=99").status_code == 404
    assert len(_names(api_client, "?page_size=1000")) == 5  # capped at 100, not refused


@pytest.mark.parametrize(("query", "parameter"), [
    ("ordering=cheapest", "ordering"),
    ("ordering=id", "ordering"),
    ("in_stock=maybe", "in_stock"),
    ("min_price=abc", "min_price"),
    ("max_price=1e999", "max_price"),
    ("min_price=-1", "min_price"),
    ("max_price=NaN", "max_price"),
    ("min_price=30&max_price=20", "min_price"),
    ("category=electronics", "category"),
    (f"category={uuid.uuid4()}", "category"),
    ("search=" + "x" * 201, "search"),
    ("page=0", "page"),
    ("page_size=abc", "page_size"),
])
def test_invalid_values_are_400_naming_the_parameter(api_client, catalogue, query, parameter):
    response = api_client.get(f"/api/v1/products?{query}")
    assert response.status_code == 400, response.content
    body = response.json()
    assert body["code"] == "validation_error" and list(body["errors"]) == [parameter]
