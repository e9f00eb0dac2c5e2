"""Probes and scrapes reach pods by IP: the operational paths answer whatever the Host, over real
HTTP against gunicorn started with its config, while every other path keeps host validation."""

import pytest
import requests

from tests.support.processes import database_env, start_http_server

POD_IP_HOST = "10.1.2.3:8000"  # what kubelet and Prometheus send
PUBLIC_HOST = "shop.example.com"

# The server reads the test databases: their setup must include every alias.
pytestmark = pytest.mark.django_db(databases="__all__")


@pytest.fixture(scope="module")
def server(django_db_setup, django_db_blocker):
    with django_db_blocker.unblock():
        env = {**database_env(), "DJANGO_ALLOWED_HOSTS": PUBLIC_HOST}
    server = start_http_server("operational-paths", env)
    yield server
    server.stop()


@pytest.mark.parametrize("path", ["/healthz", "/readyz", "/metrics"])
def test_operational_paths_answer_with_the_pod_ip_as_host(server, path):
    response = requests.get(f"{server.url}{path}", headers={"Host": POD_IP_HOST}, timeout=10)
    assert response.status_code in ((200, 503) if path == "/readyz" else (200,)), response.text
    if path == "/metrics":
        assert "django_http_responses_total_by_status_view_method" in response.text
    else:
        assert response.json()["service"]


@pytest.mark.parametrize("host", [POD_IP_HOST, "evil.example.org"])
@pytest.mark.parametrize("method, path", [
    ("GET", "/api/v1/products"), ("GET", "/admin/login/"), ("GET", "/api/schema/"),
    ("GET", "/healthz/"), ("GET", "/metricsx"), ("POST", "/healthz"),
])
def test_every_other_request_still_refuses_a_host_that_is_not_allowed(server, host, method, path):
    response = requests.request(method, f"{server.url}{path}", headers={"Host": host}, timeout=10)
    assert response.status_code == 400, response.text


def test_the_public_host_still_reaches_the_api(server):
    response = requests.get(f"{server.url}/api/v1/products", headers={"Host": PUBLIC_HOST}, timeout=30)
    assert response.status_code == 200, response.text
