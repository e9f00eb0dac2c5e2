"""The public catalogue is cached in Redis, and every write is visible to the next read,
in this process and in any other process that shares the cache."""

from decimal import Decimal

import pytest
import requests
from django.conf import settings
from django.core.cache import cache
from django.db import connections

from apps.common.events.outbox import apply_event
from apps.products import catalogue_cache
from apps.products.models import Product
from apps.products.tests.test_events import stock_changed
from tests.support.processes import database_env, start_http_server
from tests.support.users import authorization

pytestmark = pytest.mark.django_db(databases=["products"], transaction=True)


def _rename_behind_the_cache(product, name):
    """A write that bypasses the app (no invalidation): shows whether a read came from the cache."""
    Product.objects.filter(pk=product.pk).update(name=name)


class TestInThisProcess:
    def test_a_hit_costs_no_query_and_a_staff_write_invalidates_it(
            self, api_client, staff_client, make_product, django_assert_num_queries):
        product = make_product(name="Mug")
        detail, listing = f"/api/v1/products/{product.id}", "/api/v1/products?ordering=name"
        assert api_client.get(detail).json()["name"] == "Mug"
        assert api_client.get(listing).json()["results"][0]["name"] == "Mug"
        _rename_behind_the_cache(product, "Renamed behind the cache")
        with django_assert_num_queries(0, connection=connections["products"]):
            assert api_client.get(detail).json()["name"] == "Mug"
            assert api_client.get(listing).json()["results"][0]["name"] == "Mug"

        staff_client.patch(detail, {"price": "4.20"}, format="json")
        assert api_client.get(detail).json()["price"] == "4.20"
        assert api_client.get(listing).json()["results"][0]["price"] == "4.20"

    def test_shoppers_share_the_public_entry_and_staff_bypass_it(
            self, api_client, shopper_client, staff_client, make_product):
        product = make_product(name="Mug")
        path = f"/api/v1/products/{product.id}"
        api_client.get(path)
        _rename_behind_the_cache(product, "Fresh")
        assert shopper_client.get(path).json()["name"] == "Mug"
        assert staff_client.get(path).json()["name"] == "Fresh"

    def test_create_and_delete_reach_cached_lists_and_details(self, api_client, staff_client, make_product):
        product = make_product()
        assert api_client.get("/api/v1/products").json()["count"] == 1
        assert api_client.get(f"/api/v1/products/{product.id}").status_code == 200
        created = staff_client.post("/api/v1/products", {"sku": "NEW", "name": "New", "price": "1.00"},
                                    format="json").json()
        assert api_client.get("/api/v1/products").json()["count"] == 2
        assert staff_client.delete(f"/api/v1/products/{product.id}").status_code == 204
        assert api_client.get(f"/api/v1/products/{product.id}").status_code == 404
        assert [p["id"] for p in api_client.get("/api/v1/products").json()["results"]] == [created["id"]]

    def test_a_stock_event_invalidates(self, api_client, make_product):
        product = make_product()
        assert api_client.get("/api/v1/products?in_stock=true").json()["count"] == 0
        assert api_client.get(f"/api/v1/products/{product.id}").json()["in_stock"] is False
        apply_event("products", stock_changed(product.id, 2))
        assert api_client.get("/api/v1/products?in_stock=true").json()["count"] == 1
        assert api_client.get(f"/api/v1/products/{product.id}").json()["in_stock"] is True

    def test_a_category_write_invalidates(self, api_client, staff_client):
        assert api_client.get("/api/v1/products").json()["count"] == 0
        category = staff_client.post("/api/v1/categories", {"name": "Tea"}, format="json").json()
        product = staff_client.post("/api/v1/products", {
            "sku": "TEA-1", "name": "Green tea", "price": "3.00", "category_id": category["id"]},
            format="json").json()
        assert api_client.get(f"/api/v1/products?category={category['id']}").json()["results"][0]["id"] == \
            product["id"]


    def test_a_generation_recreated_lower_is_not_hidden_by_the_entries_a_process_holds(
            self, api_client, make_product, monkeypatch):
        product = make_product(name="Mug")
        path = f"/api/v1/products/{product.id}"
        api_client.get(path)
        assert api_client.get(path).json()["name"] == "Mug"  # now held by this process
        _rename_behind_the_cache(product, "Renamed")
        # The generation key evicted and made again from a clock far behind: no bump announces it.
        cache.set(catalogue_cache.GENERATION_KEY, 1, timeout=None)
        with monkeypatch.context() as patch:
            patch.setattr(catalogue_cache, "LOCAL_TRUST_SECONDS", 0)  # this read asks Redis
            assert api_client.get(path).json()["name"] == "Renamed"
        assert api_client.get(path).json()["name"] == "Renamed"


def test_two_processes_sharing_redis_see_each_others_writes(make_product):
    assert settings.REDIS_URL, "this test needs the shared Redis cache"
    env = database_env(apps=["products"])
    writer = start_http_server("products-cache-writer", env)
    reader = start_http_server("products-cache-reader", env)
    try:
        staff = {"Authorization": authorization(is_staff=True)}
        product = make_product(name="Kettle", price=Decimal("30.00"))
        detail = f"/api/v1/products/{product.id}"
        listing = "/api/v1/products?max_price=50"

        assert requests.get(reader.url + detail, timeout=5).json()["price"] == "30.00"
        assert requests.get(reader.url + listing, timeout=5).json()["count"] == 1
        _rename_behind_the_cache(product, "Renamed behind the cache")
        assert requests.get(reader.url + detail, timeout=5).json()["name"] == "Kettle"  # a cache hit

        response = requests.patch(writer.url + detail, json={"price": "45.00"}, headers=staff, timeout=5)
        assert response.status_code == 200, response.text
        body = requests.get(reader.url + detail, timeout=5).json()
        assert (body["price"], body["name"]) == ("45.00", "Renamed behind the cache")
        assert requests.get(reader.url + listing, timeout=5).json()["results"][0]["price"] == "45.00"

        requests.patch(writer.url + detail, json={"price": "60.00"}, headers=staff, timeout=5)
        assert requests.get(reader.url + listing, timeout=5).json()["count"] == 0

        assert requests.delete(writer.url + detail, headers=staff, timeout=5).status_code == 204
        assert requests.get(reader.url + detail, timeout=5).status_code == 404
        assert requests.get(writer.url + detail, timeout=5).status_code == 404
    finally:
        writer.stop()
        reader.stop()
