"""/users/me for everyone, /users and /users/{id} for staff."""

import uuid

import pytest
from django.db import connections

from apps.users.models import User
from tests.support.users import PASSWORD, UserFactory, bearer

pytestmark = pytest.mark.django_db(databases=["default", "users"])

ME = "/api/v1/users/me"
USERS = "/api/v1/users"


def detail(user_id) -> str:
    return f"{USERS}/{user_id}"


class TestMe:
    def test_get(self, api_client, user):
        response = api_client.get(ME, headers=bearer(user))
        assert response.status_code == 200
        assert response.json() == {
            "id": str(user.id), "email": user.email, "first_name": user.first_name,
            "last_name": user.last_name, "is_staff": False, "is_active": True,
            "date_joined": user.date_joined.isoformat().replace("+00:00", "Z"),
        }

    def test_patch_changes_names_and_nothing_else(self, api_client, user):
        response = api_client.patch(ME, {
            "first_name": "Grace", "is_staff": True, "is_superuser": True, "email": "boss@example.com",
            "id": str(uuid.uuid4()), "is_active": False, "date_joined": "2000-01-01T00:00:00Z",
            "password": "new-Password-42",
        }, format="json", headers=bearer(user))
        assert response.status_code == 200, response.content
        stored = User.objects.get(pk=user.pk)
        assert response.json()["id"] == str(user.id) and response.json()["first_name"] == "Grace"
        assert (stored.first_name, stored.last_name, stored.email) == ("Grace", user.last_name, user.email)
        assert not stored.is_staff and not stored.is_superuser and stored.is_active
        assert stored.date_joined == user.date_joined and stored.check_password(PASSWORD)

    def test_patch_validates(self, api_client, user):
        response = api_client.patch(ME, {"last_name": "x" * 151}, format="json", headers=bearer(user))
        assert response.status_code == 400 and set(response.json()["errors"]) == {"last_name"}

    def test_anonymous(self, api_client):
        for response in (api_client.get(ME), api_client.patch(ME, {}, format="json")):
            assert (response.status_code, response.json()["code"]) == (401, "not_authenticated")

    def test_a_token_outliving_its_account(self, api_client, user):
        User.objects.filter(pk=user.pk).update(is_active=False)
        response = api_client.get(ME, headers=bearer(user))
        assert (response.status_code, response.json()["code"]) == (401, "token_invalid")
        response = api_client.get(ME, headers=bearer(user_id=uuid.uuid4()))
        assert (response.status_code, response.json()["code"]) == (401, "token_invalid")


class TestList:
    def test_staff_get_a_page_searchable_by_email_and_names(self, api_client, staff_user):
        UserFactory(email="ada@example.com", first_name="Ada", last_name="Lovelace")
        UserFactory(email="grace@example.com", first_name="Grace", last_name="Hopper")
        UserFactory(email="zed@lovelace.org", first_name="Zed", last_name="Z")
        response = api_client.get(USERS, {"search": "LOVELACE"}, headers=bearer(staff_user))
        assert response.status_code == 200
        body = response.json()
        assert set(body) == {"count", "next", "previous", "results"}
        assert [user["email"] for user in body["results"]] == ["ada@example.com", "zed@lovelace.org"]
        assert body["count"] == 2
        everyone = api_client.get(USERS, headers=bearer(staff_user)).json()
        assert everyone["count"] == 4

    def test_pagination(self, api_client, staff_user):
        UserFactory.create_batch(4)
        page = api_client.get(USERS, {"page_size": 2, "page": 2}, headers=bearer(staff_user)).json()
        assert page["count"] == 5 and len(page["results"]) == 2 and page["previous"] and page["next"]
        response = api_client.get(USERS, {"page_size": "abc"}, headers=bearer(staff_user))
        assert response.status_code == 400 and "page_size" in response.json()["errors"]
        assert api_client.get(USERS, {"page": 99}, headers=bearer(staff_user)).status_code == 404

    def test_shoppers_are_forbidden_and_anonymous_unauthenticated(self, api_client, user):
        assert api_client.get(USERS, headers=bearer(user)).json()["code"] == "permission_denied"
        assert api_client.get(USERS).status_code == 401

    def test_queries_do_not_grow_with_the_page(self, api_client, staff_user, django_assert_num_queries):
        UserFactory.create_batch(30)
        with django_assert_num_queries(2, connection=connections["users"]):  # count + page
            response = api_client.get(USERS, {"page_size": 30}, headers=bearer(staff_user))
        assert len(response.json()["results"]) == 30


class TestDetail:
    def test_get(self, api_client, staff_user, user):
        response = api_client.get(detail(user.id), headers=bearer(staff_user))
        assert response.status_code == 200 and response.json()["email"] == user.email

    def test_patch_by_staff(self, api_client, staff_user, user):
        response = api_client.patch(detail(user.id), {
            "last_name": "Hopper", "is_staff": True, "email": "other@example.com", "id": str(uuid.uuid4()),
        }, format="json", headers=bearer(staff_user))
        assert response.status_code == 200, response.content
        stored = User.objects.get(pk=user.pk)
        assert (stored.last_name, stored.is_staff, stored.email) == ("Hopper", True, user.email)

    def test_delete_deactivates_so_the_user_cannot_log_in_or_refresh(self, api_client, staff_user, user):
        pair = api_client.post("/api/v1/auth/token", {"email": user.email, "password": PASSWORD},
                               format="json").json()
        assert api_client.delete(detail(user.id), headers=bearer(staff_user)).status_code == 204
        assert User.objects.filter(pk=user.pk, is_active=False).exists()
        login = api_client.post("/api/v1/auth/token", {"email": user.email, "password": PASSWORD},
                                format="json")
        assert (login.status_code, login.json()["code"]) == (401, "invalid_credentials")
        refresh = api_client.post("/api/v1/auth/token/refresh", {"refresh": pair["refresh"]},
                                  format="json")
        assert (refresh.status_code, refresh.json()["code"]) == (401, "token_invalid")

    @pytest.mark.parametrize("method", ["get", "patch", "delete"])
    def test_unknown_user_is_404(self, api_client, staff_user, method):
        response = getattr(api_client, method)(detail(uuid.uuid4()), headers=bearer(staff_user))
        assert (response.status_code, response.json()["code"]) == (404, "not_found")
        response = getattr(api_client, method)(detail("not-a-uuid"), headers=bearer(staff_user))
        assert (response.status_code, response.json()["code"]) == (404, "not_found")

    @pytest.mark.parametrize("method", ["get", "patch", "delete"])
    def test_shoppers_are_forbidden(self, api_client, user, method):
        response = getattr(api_client, method)(detail(user.id), headers=bearer(user))
        assert (response.status_code, response.json()["code"]) == (403, "permission_denied")
        assert User.objects.filter(pk=user.pk, is_active=True).exists()
