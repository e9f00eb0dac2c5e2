"""Rate limits per client (THROTTLE_RATES, TRUSTED_PROXY_COUNT) at the default rates of
config/throttle_rates.py, which the suite runs with: 429 `rate_limited` with Retry-After."""

import uuid

import pytest
import requests
from rest_framework.test import APIClient

from config.throttle_rates import DEFAULT_THROTTLE_RATES, parse_throttle_rates
from tests.support.problems import assert_problem
from tests.support.processes import database_env, manage, start_http_server
from tests.support.users import PASSWORD, UserFactory, authorization

TOKEN = "/api/v1/auth/token"
REGISTER = "/api/v1/auth/register"


def assert_rate_limited(response):
    assert_problem(response, 429, "rate_limited")
    assert int(response["Retry-After"]) >= 1


@pytest.mark.django_db(databases=["default", "users"])
def test_logins_for_many_emails_from_one_client_are_limited(api_client):
    """Credential stuffing: every e-mail is new, so only the per-address limit (30/min) stops it."""
    statuses = [api_client.post(TOKEN, {"email": f"victim{index}@example.com", "password": "x"},
                                format="json").status_code for index in range(120)]
    assert statuses[:30] == [401] * 30
    assert statuses[30:] == [429] * 90
    assert_rate_limited(api_client.post(TOKEN, {"email": "v@example.com", "password": "x"}, format="json"))


@pytest.mark.django_db(databases=["default", "users"])
def test_registrations_from_one_client_are_limited(api_client):
    statuses = [api_client.post(REGISTER, {"email": f"new{index}@example.com", "password": PASSWORD},
                                format="json").status_code for index in range(60)]
    assert statuses[:20] == [201] * 20
    assert statuses[20:] == [429] * 40


@pytest.mark.django_db(databases=["default", "users"])
def test_x_forwarded_for_is_ignored_without_trusted_proxies(api_client):
    statuses = [api_client.post(TOKEN, {"email": f"v{index}@example.com", "password": "x"}, format="json",
                                HTTP_X_FORWARDED_FOR=f"203.0.113.{index}").status_code
                for index in range(31)]
    assert statuses == [401] * 30 + [429]


@pytest.mark.django_db(databases=["default", "users"])
def test_another_client_address_is_counted_apart(api_client):
    for index in range(30):
        api_client.post(TOKEN, {"email": f"v{index}@example.com", "password": "x"}, format="json")
    assert api_client.post(TOKEN, {"email": "v@example.com", "password": "x"}, format="json",
                           REMOTE_ADDR="198.51.100.7").status_code == 401


@pytest.mark.django_db(databases="__all__")
def test_refunds_and_adjustments_are_limited_per_staff_member():
    staff, other = APIClient(), APIClient()
    staff.credentials(HTTP_AUTHORIZATION=authorization(is_staff=True))
    other.credentials(HTTP_AUTHORIZATION=authorization(is_staff=True))
    refund = f"/api/v1/payments/{uuid.uuid4()}/refund"
    assert {staff.post(refund, {"restock": True}, format="json").status_code for _ in range(60)} == {404}
    assert_rate_limited(staff.post(refund, {"restock": True}, format="json"))
    assert other.post(refund, {"restock": True}, format="json").status_code == 404

    adjustments = f"/api/v1/inventory/{uuid.uuid4()}/adjustments"
    for _ in range(120):
        assert staff.post(adjustments, {"delta": 0, "reason": "count"}, format="json").status_code == 400
    assert_rate_limited(staff.post(adjustments, {"delta": 0, "reason": "count"}, format="json"))
    assert staff.get(adjustments).status_code == 200  # reading the ledger is not limited by it


@pytest.mark.django_db(databases=["default", "users"], transaction=True)
def test_off_keeps_only_the_per_email_login_throttle_and_proxies_are_trusted_when_configured():
    user = UserFactory()
    server = start_http_server("rate-limits-off", {**database_env(), "THROTTLE_RATES": "off"})
    proxied = start_http_server("rate-limits-proxy", {**database_env(), "TRUSTED_PROXY_COUNT": "1"})
    try:
        statuses = [requests.post(f"{server.url}{TOKEN}", timeout=10, json={
            "email": f"v{index}@example.com", "password": "x"}).status_code for index in range(40)]
        assert statuses == [401] * 40
        for _ in range(5):
            requests.post(f"{server.url}{TOKEN}", json={"email": user.email, "password": "x"}, timeout=10)
        refused = requests.post(f"{server.url}{TOKEN}", json={"email": user.email, "password": PASSWORD},
                                timeout=10)
        assert (refused.status_code, refused.json()["code"]) == (429, "too_many_attempts")

        # Behind one trusted proxy, the address it appends is the client.
        statuses = [requests.post(f"{proxied.url}{TOKEN}", timeout=10, headers={
            "X-Forwarded-For": f"6.6.6.6, 203.0.113.{index % 2}"}, json={
            "email": f"w{index}@example.com", "password": "x"}).status_code for index in range(62)]
        assert statuses.count(429) == 2
    finally:
        server.stop()
        proxied.stop()


@pytest.mark.parametrize(("name", "value", "message"), [
    ("THROTTLE_RATES", "login_ip=30", "THROTTLE_RATES: login_ip='30' is not a rate"),
    ("THROTTLE_RATES", "logins=3/min", "THROTTLE_RATES names unknown scope 'logins'"),
    ("TRUSTED_PROXY_COUNT", "two", "TRUSTED_PROXY_COUNT must be a whole number"),
])
def test_a_malformed_value_stops_start_up_naming_the_variable(name, value, message):
    result = manage(["check"], {name: value})
    assert result.returncode != 0
    assert message in result.stderr


def test_rates_override_the_defaults_scope_by_scope():
    assert parse_throttle_rates(None) == DEFAULT_THROTTLE_RATES
    rates = parse_throttle_rates(" login_ip=10/s, register_ip=off ,")
    assert rates == {**DEFAULT_THROTTLE_RATES, "login_ip": "10/s", "register_ip": None}
    assert set(parse_throttle_rates("OFF").values()) == {None}
