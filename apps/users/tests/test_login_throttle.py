"""429 after 5 failed logins for one email within the window, counted in Redis."""

import time
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests
from django.conf import settings
from django.db import connections
from rest_framework.test import APIClient

from tests.support.problems import assert_problem
from tests.support.processes import database_env, start_http_server
from tests.support.users import PASSWORD, UserFactory

TOKEN = "/api/v1/auth/token"
WRONG = "wrong-Password-1"


def attempt(client, email, password):
    return client.post(TOKEN, {"email": email, "password": password}, format="json")


@pytest.mark.django_db(databases=["default", "users"])
class TestThrottle:
    def test_sixth_attempt_is_429_even_with_the_right_password(self, api_client, user):
        for _ in range(5):
            assert attempt(api_client, user.email, WRONG).status_code == 401
        response = attempt(api_client, user.email, PASSWORD)
        assert_problem(response, 429, "too_many_attempts")
        assert 0 < int(response["Retry-After"]) <= 15 * 60

    def test_the_count_is_per_email_and_ignores_case(self, api_client, user):
        bystander = UserFactory()
        for variant in ("A", "b", "C", "d", "E"):
            email = user.email.upper() if variant.isupper() else user.email
            assert attempt(api_client, f" {email} ", WRONG).status_code == 401
        assert attempt(api_client, bystander.email, PASSWORD).status_code == 200
        assert attempt(api_client, user.email, PASSWORD).status_code == 429

    def test_a_success_elsewhere_does_not_reset_the_attackers_count(self, api_client, user):
        attacker_target = "victim@example.com"  # unknown emails are counted too
        for _ in range(4):
            assert attempt(api_client, attacker_target, WRONG).status_code == 401
        assert attempt(api_client, user.email, PASSWORD).status_code == 200
        assert attempt(api_client, attacker_target, WRONG).status_code == 401
        assert attempt(api_client, attacker_target, WRONG).status_code == 429

    def test_successes_are_not_failures(self, api_client, user):
        for _ in range(4):
            assert attempt(api_client, user.email, WRONG).status_code == 401
        for _ in range(3):
            assert attempt(api_client, user.email, PASSWORD).status_code == 200
        assert attempt(api_client, user.email, WRONG).status_code == 401
        assert attempt(api_client, user.email, PASSWORD).status_code == 429

    def test_the_window_passes(self, api_client, user, settings):
        settings.LOGIN_FAILURE_WINDOW_SECONDS = 6
        for _ in range(5):
            attempt(api_client, user.email, WRONG)
        refused = attempt(api_client, user.email, PASSWORD)
        assert refused.status_code == 429
        time.sleep(int(refused["Retry-After"]) + 0.5)
        assert attempt(api_client, user.email, PASSWORD).status_code == 200


@pytest.mark.django_db(databases=["default", "users"], transaction=True)
def test_a_parallel_burst_gets_exactly_five_guesses():
    user = UserFactory()

    def guess(_):
        try:
            return attempt(APIClient(), user.email, WRONG).status_code
        finally:
            connections.close_all()

    with ThreadPoolExecutor(max_workers=20) as pool:
        statuses = sorted(pool.map(guess, range(20)))
    assert statuses == [401] * 5 + [429] * 15


@pytest.mark.django_db(databases=["default", "users"], transaction=True)
def test_the_count_holds_across_two_processes_sharing_redis():
    user = UserFactory()
    env = {**database_env(), "JWT_SIGNING_KEY": settings.JWT_KEYS.signing_pem}
    first = start_http_server("users-throttle-a", env)
    second = start_http_server("users-throttle-b", env)
    try:
        for index in range(5):
            server = (first, second)[index % 2]
            response = requests.post(f"{server.url}{TOKEN}",
                                     json={"email": user.email, "password": WRONG}, timeout=10)
            assert response.status_code == 401, response.text
        for server in (first, second):
            response = requests.post(f"{server.url}{TOKEN}",
                                     json={"email": user.email, "password": PASSWORD}, timeout=10)
            assert response.status_code == 429, response.text
            assert response.json()["code"] == "too_many_attempts"
    finally:
        first.stop()
        second.stop()
