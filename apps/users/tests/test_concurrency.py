"""Races a client can start: parallel registrations, parallel use of one refresh token."""

from concurrent.futures import ThreadPoolExecutor

import pytest
from django.db import connections
from rest_framework.test import APIClient

from apps.users.models import User
from tests.support.users import PASSWORD, UserFactory

pytestmark = pytest.mark.django_db(databases=["default", "users"], transaction=True)


def in_parallel(call, count: int) -> list:
    def run(_):
        try:
            return call()
        finally:
            connections.close_all()

    with ThreadPoolExecutor(max_workers=count) as pool:
        return list(pool.map(run, range(count)))


def test_twenty_registrations_of_one_email_give_one_account():
    def register():
        response = APIClient().post("/api/v1/auth/register",
                                    {"email": "Race@Example.com", "password": PASSWORD}, format="json")
        return response.status_code, response.json().get("code")

    results = in_parallel(register, 20)
    assert sorted(results, key=str) == [(201, None)] + [(409, "email_taken")] * 19
    assert User.objects.filter(email="race@example.com").count() == 1


def test_one_refresh_token_used_ten_times_at_once_rotates_once():
    user = UserFactory()
    refresh = APIClient().post("/api/v1/auth/token", {"email": user.email, "password": PASSWORD},
                               format="json").json()["refresh"]

    def use():
        return APIClient().post("/api/v1/auth/token/refresh", {"refresh": refresh},
                                format="json").status_code

    assert sorted(in_parallel(use, 10)) == [200] + [401] * 9
