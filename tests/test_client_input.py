"""Every input a client can send is answered with a 4xx, never a 500: page numbers, deeply nested
JSON, control characters in parameters and fields (money bounds: apps/payments/tests)."""

import json
import uuid

import pytest
from rest_framework.test import APIClient

from tests.support.clients import client_for
from tests.support.problems import assert_problem
from tests.support.users import UserFactory

LISTS = ["/api/v1/products", "/api/v1/categories", "/api/v1/payments", "/api/v1/users",
         "/api/v1/inventory/low-stock", f"/api/v1/inventory/{uuid.uuid4()}/adjustments"]

pytestmark = pytest.mark.django_db(databases="__all__")


@pytest.mark.parametrize("path", LISTS)
@pytest.mark.parametrize("query", ["page=%C2%B2", "page_size=%C2%B2", "page=%D9%A3", "page=1234567890",
                                   "page=0", "page_size=-1"])
def test_page_and_page_size_are_ascii_digits_or_400(staff_client, path, query):
    response = staff_client.get(f"{path}?{query}")
    assert response.status_code == 400, response.content
    assert list(response.json()["errors"]) == [query.split("=")[0]]


def test_the_page_size_above_the_maximum_is_clamped(staff_client):
    assert staff_client.get("/api/v1/categories?page_size=100000").status_code == 200


def nested(depth: int) -> str:
    return "[" * depth + "]" * depth


@pytest.mark.parametrize("depth", [33, 1_000, 100_000])
@pytest.mark.parametrize(("path", "authenticated"), [
    ("/api/v1/auth/token", False), ("/api/v1/auth/register", False), ("/api/v1/products", True),
    ("/api/v1/payments", True),
])
def test_json_nested_too_deep_is_400_invalid_json(staff_client, path, authenticated, depth):
    client = staff_client if authenticated else APIClient()
    body = '{"email": ' + nested(depth) + "}"
    response = client.post(path, body, content_type="application/json",
                           headers={"Idempotency-Key": str(uuid.uuid4())})
    assert_problem(response, 400, "invalid_json")


def test_json_within_the_depth_limit_is_parsed(staff_client):
    body = {"name": "Tools", "extra": json.loads(nested(30))}
    assert staff_client.post("/api/v1/categories", body, format="json").status_code == 201


def test_a_control_character_in_a_query_parameter_is_400_naming_it(staff_client):
    for query, name in (("search=a%00b", "search"), ("search=%01", "search"), ("x%00=1", "x\x00")):
        response = staff_client.get(f"/api/v1/users?{query}")
        assert response.status_code == 400, response.content
        assert response["Content-Type"] == "application/problem+json"
        assert list(response.json()["errors"]) == [name]
    assert APIClient().get("/api/v1/products?search=a%00b").status_code == 400
    assert staff_client.get("/api/v1/users?search=tab%09ok").status_code == 200


@pytest.mark.parametrize(("path", "body", "field"), [
    ("/api/v1/auth/register", {"email": "a@example.com", "password": "x", "first_name": "a\x00b"},
     "first_name"),
    ("/api/v1/auth/token", {"email": "a\x07@example.com", "password": "x"}, "email"),
    ("/api/v1/products", {"sku": "S", "name": "n", "price": "1.00", "image_urls": ["http://x/\x1b"]},
     "image_urls.0"),
    ("/api/v1/payments", {"items": [{"product_id": "x", "quantity": 1}],
                          "payment_method": {"token": "tok\x00"}}, "payment_method.token"),
    ("/api/v1/categories", {"name\x00": "x"}, "name\x00"),
])
def test_a_control_character_in_a_body_field_is_400_naming_it(staff_client, path, body, field):
    client = staff_client if path not in ("/api/v1/auth/register", "/api/v1/auth/token") else APIClient()
    response = client.post(path, body, format="json", headers={"Idempotency-Key": "k"})
    assert response.status_code == 400, response.content
    assert response.json()["errors"] == {field: ["Control characters (such as NUL) are not allowed."]}


def test_text_fields_keep_newlines_and_tabs(staff_client):
    response = staff_client.post("/api/v1/products", {"sku": "S-1", "name": "n", "price": "1.00",
                                               "description": "line one\n\tline two\r\n"}, format="json")
    assert response.status_code == 201, response.content


def test_a_user_with_a_nul_in_a_profile_patch_is_refused():
    user = UserFactory()
    client = client_for(user.id)
    response = client.patch("/api/v1/users/me", {"last_name": "x\x00"}, format="json")
    assert (response.status_code, list(response.json()["errors"])) == (400, ["last_name"])


def test_a_control_character_in_the_idempotency_key_is_400_naming_the_header():
    client = client_for()
    response = client.post("/api/v1/payments", {"items": [{"product_id": str(uuid.uuid4()), "quantity": 1}],
                                                "payment_method": {"token": "tok_visa"}},
                           format="json", headers={"Idempotency-Key": "key\x01"})
    assert (response.status_code, list(response.json()["errors"])) == (400, ["Idempotency-Key"])
