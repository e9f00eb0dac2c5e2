"""Categories and products over REST: CRUD, roles, the contract's status codes and bodies."""

import uuid
from decimal import Decimal

import pytest

from apps.products.models import Product
from tests.support.problems import assert_problem

pytestmark = pytest.mark.django_db(databases=["products"])

NEW_PRODUCT = {"sku": "MUG-001", "name": "Enamel mug", "description": "Keeps tea warm.", "price": "19.99"}


class TestCategories:
    def test_anyone_lists_the_tree_paginated(self, api_client, make_category):
        home = make_category("Home")
        kitchen = make_category("Kitchen", parent=home)
        body = api_client.get("/api/v1/categories").json()
        assert body["count"] == 2 and body["previous"] is None
        assert body["results"] == [
            {"id": str(home.id), "name": "Home", "slug": "home", "parent_id": None},
            {"id": str(kitchen.id), "name": "Kitchen", "slug": "kitchen", "parent_id": str(home.id)},
        ]

    def test_staff_creates_with_a_slug_derived_from_the_name(self, staff_client, make_category):
        parent = make_category("Garden")
        body = {"name": "Power Tools & More", "parent_id": str(parent.id)}
        response = staff_client.post("/api/v1/categories", body, format="json")
        assert response.status_code == 201
        assert response.json() | {"id": None} == {
            "id": None, "name": "Power Tools & More", "slug": "power-tools-more", "parent_id": str(parent.id)}

    def test_taken_slug_is_409(self, staff_client, make_category):
        make_category("Books")
        assert_problem(staff_client.post("/api/v1/categories", {"name": "Books"}, format="json"), 409,
                       "slug_taken")
        assert_problem(staff_client.post("/api/v1/categories", {"name": "Other", "slug": "books"},
                                         format="json"),
                 409, "slug_taken")

    def test_unknown_parent_is_400(self, staff_client):
        body = assert_problem(staff_client.post("/api/v1/categories",
                                          {"name": "Orphan", "parent_id": str(uuid.uuid4())}, format="json"),
                        400, "validation_error")
        assert list(body["errors"]) == ["parent_id"]

    def test_a_name_without_slug_characters_needs_a_slug(self, staff_client):
        body = assert_problem(staff_client.post("/api/v1/categories", {"name": "!!!"}, format="json"),
                        400, "validation_error")
        assert list(body["errors"]) == ["slug"]

    def test_anonymous_is_401_and_shopper_403(self, api_client, shopper_client):
        assert_problem(api_client.post("/api/v1/categories", {"name": "X"}, format="json"),
                 401, "not_authenticated")
        assert_problem(shopper_client.post("/api/v1/categories", {"name": "X"}, format="json"),
                 403, "permission_denied")


class TestProductWrites:
    def test_create_renders_the_contract_shape(self, staff_client, make_category):
        category = make_category("Kitchen")
        response = staff_client.post("/api/v1/products", {
            **NEW_PRODUCT, "category_id": str(category.id), "in_stock": True,
            "image_urls": ["https://img.example.com/mug.jpg"]}, format="json")
        assert response.status_code == 201, response.content
        body = response.json()
        assert set(body) == {"id", "sku", "name", "description", "price", "currency", "category_id", "status",
                             "in_stock", "image_urls", "created_at", "updated_at"}
        assert body["price"] == "19.99" and body["currency"] == "USD" and body["status"] == "active"
        assert body["in_stock"] is False  # a read model: never settable through the API
        assert body["category_id"] == str(category.id)
        assert body["created_at"].endswith("Z")
        stored = Product.objects.get(pk=body["id"])
        assert stored.price == Decimal("19.99") and stored.in_stock is False

    def test_taken_sku_is_409_on_create_and_update(self, staff_client, make_product):
        make_product(sku="MUG-001")
        other = make_product(sku="MUG-002")
        assert_problem(staff_client.post("/api/v1/products", NEW_PRODUCT, format="json"), 409, "sku_taken")
        assert_problem(staff_client.patch(f"/api/v1/products/{other.id}", {"sku": "MUG-001"}, format="json"),
                 409, "sku_taken")

    @pytest.mark.parametrize("price", ["0", "0.00", "-1.50"])
    def test_price_must_be_positive(self, staff_client, price):
        body = assert_problem(staff_client.post("/api/v1/products", {**NEW_PRODUCT, "price": price},
                                                format="json"),
                        400, "validation_error")
        assert list(body["errors"]) == ["price"]

    @pytest.mark.parametrize(("field", "value"), [
        ("price", "abc"), ("price", "1.999"), ("price", "NaN"), ("currency", "usd"),
        ("category_id", str(uuid.uuid4())), ("category_id", "kitchen"), ("status", "archived"),
        ("image_urls", ["not a url"]), ("sku", ""),
    ])
    def test_invalid_fields_are_400_naming_the_field(self, staff_client, field, value):
        body = assert_problem(staff_client.post("/api/v1/products", {**NEW_PRODUCT, field: value},
                                                format="json"),
                        400, "validation_error")
        assert list(body["errors"]) == [field]

    def test_put_replaces_and_patch_changes_some_fields(self, staff_client, make_product):
        product = make_product(description="old")
        response = staff_client.put(f"/api/v1/products/{product.id}",
                                    {"sku": "NEW-1", "name": "New name", "price": "5.00"}, format="json")
        assert response.status_code == 200, response.content
        assert response.json()["sku"] == "NEW-1"
        assert_problem(staff_client.put(f"/api/v1/products/{product.id}", {"name": "Only a name"},
                                        format="json"),
                 400, "validation_error")
        response = staff_client.patch(f"/api/v1/products/{product.id}", {"price": "7.50"}, format="json")
        assert response.json()["price"] == "7.50" and response.json()["name"] == "New name"
        product.refresh_from_db()
        assert (product.sku, product.price) == ("NEW-1", Decimal("7.50"))

    def test_writes_to_an_unknown_product_are_404(self, staff_client):
        missing = uuid.uuid4()
        assert_problem(staff_client.patch(f"/api/v1/products/{missing}", {"name": "x"}, format="json"),
                 404, "not_found")
        assert_problem(staff_client.delete(f"/api/v1/products/{missing}"), 404, "not_found")

    @pytest.mark.parametrize("method", ["post", "put", "patch", "delete"])
    def test_anonymous_is_401_and_shopper_403(self, api_client, shopper_client, make_product, method):
        product = make_product()
        path = "/api/v1/products" if method == "post" else f"/api/v1/products/{product.id}"
        assert_problem(getattr(api_client, method)(path, NEW_PRODUCT, format="json"), 401,
                       "not_authenticated")
        assert_problem(getattr(shopper_client, method)(path, NEW_PRODUCT, format="json"), 403,
                       "permission_denied")
        product.refresh_from_db()
        assert product.is_active and product.sku != NEW_PRODUCT["sku"]

    def test_a_forged_token_is_401(self, api_client):
        api_client.credentials(HTTP_AUTHORIZATION="Bearer not-a-jwt")
        assert_problem(api_client.post("/api/v1/products", NEW_PRODUCT, format="json"),
                 401, "token_invalid")


class TestDelete:
    def test_delete_takes_the_product_out_of_the_public_catalogue(
            self, api_client, shopper_client, staff_client, make_product):
        product, kept = make_product(), make_product()
        assert staff_client.delete(f"/api/v1/products/{product.id}").status_code == 204
        assert staff_client.delete(f"/api/v1/products/{product.id}").status_code == 204  # idempotent
        assert_problem(api_client.get(f"/api/v1/products/{product.id}"), 404, "not_found")
        assert_problem(shopper_client.get(f"/api/v1/products/{product.id}"), 404, "not_found")
        assert [p["id"] for p in api_client.get("/api/v1/products").json()["results"]] == [str(kept.id)]

        staff_view = staff_client.get(f"/api/v1/products/{product.id}")
        assert staff_view.status_code == 200 and staff_view.json()["status"] == "inactive"
        assert staff_client.get("/api/v1/products").json()["count"] == 2
        inactive = staff_client.get("/api/v1/products?status=inactive").json()
        assert [p["id"] for p in inactive["results"]] == [str(product.id)]
        assert Product.objects.filter(pk=product.id).exists()

    def test_staff_can_reactivate(self, staff_client, api_client, make_product):
        product = make_product(status=Product.Status.INACTIVE)
        staff_client.patch(f"/api/v1/products/{product.id}", {"status": "active"}, format="json")
        assert api_client.get(f"/api/v1/products/{product.id}").status_code == 200


class TestDetail:
    def test_anyone_reads_an_active_product(self, api_client, make_product):
        product = make_product(price=Decimal("3.5"))
        body = api_client.get(f"/api/v1/products/{product.id}").json()
        assert body["id"] == str(product.id) and body["price"] == "3.50"

    @pytest.mark.parametrize("path", [f"/api/v1/products/{uuid.uuid4()}", "/api/v1/products/not-a-uuid",
                                      "/api/v1/products/"])
    def test_unknown_is_404assert_problem(self, api_client, path):
        assert_problem(api_client.get(path), 404, "not_found")


def test_openapi_documents_the_filters_and_errors(api_client):
    schema = api_client.get("/api/schema/?format=json").json()
    listing = schema["paths"]["/api/v1/products"]["get"]
    params = {param["name"]: param for param in listing["parameters"]}
    assert {"search", "category", "min_price", "max_price", "in_stock", "ordering", "page",
            "page_size"} <= set(params)
    assert set(params["ordering"]["schema"]["enum"]) == {
        "price", "-price", "name", "-name", "created_at", "-created_at"}
    assert "400" in listing["responses"]
    create = schema["paths"]["/api/v1/products"]["post"]
    assert {"201", "400", "401", "403", "409"} <= set(create["responses"])
    assert {"404"} <= set(schema["paths"]["/api/v1/products/{product_id}"]["get"]["responses"])
    product = schema["components"]["schemas"]["Product"]["properties"]
    assert product["in_stock"]["readOnly"] is True and product["price"]["type"] == "string"
