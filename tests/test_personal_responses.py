"""Authenticated or personal responses carry `Cache-Control: no-store` (the contract), so no
browser, proxy or CDN keeps a user's data or tokens; anonymous public reads do not."""

import pytest
from rest_framework.test import APIClient

from tests.support.users import PASSWORD, StaffFactory, UserFactory, authorization

pytestmark = pytest.mark.django_db(databases="__all__")


def test_answers_to_requests_with_a_token_are_no_store():
    user = UserFactory()
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=authorization(user.id))
    for path in ("/api/v1/users/me", "/api/v1/payments", "/api/v1/categories", "/api/v1/users"):
        response = client.get(path)
        assert response["Cache-Control"] == "no-store", (path, response.status_code)
    # Errors too: a refused token is still a personal answer.
    anonymous = APIClient()
    anonymous.credentials(HTTP_AUTHORIZATION="Bearer forged")
    assert anonymous.get("/api/v1/users/me")["Cache-Control"] == "no-store"


def test_token_and_registration_answers_are_no_store():
    user = UserFactory()
    client = APIClient()
    response = client.post("/api/v1/auth/token", {"email": user.email, "password": PASSWORD}, format="json")
    assert (response.status_code, response["Cache-Control"]) == (200, "no-store")
    response = client.post("/api/v1/auth/register", {"email": "n@example.com", "password": PASSWORD},
                           format="json")
    assert (response.status_code, response["Cache-Control"]) == (201, "no-store")


def test_the_admin_with_a_session_is_no_store():
    staff = StaffFactory()
    client = APIClient()
    client.force_login(staff)
    response = client.get("/admin/")
    assert response.status_code == 200
    assert response["Cache-Control"] == "no-store"


def test_anonymous_public_reads_are_not_marked_personal():
    assert "no-store" not in APIClient().get("/api/v1/categories").get("Cache-Control", "")
