"""The skeleton: SERVICE_APPS, the database router, operational endpoints, problem errors."""

import sqlite3
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests
from django.apps import apps as django_apps
from django.db import connections
from django.urls import reverse

from config.routers import database_for
from config.service_apps import DOMAIN_APPS, parse_service_apps
from tests.support.problems import assert_problem
from tests.support.processes import database_env, manage, sqlite_env, start_http_server

pytestmark = pytest.mark.django_db(databases="__all__")


def _tables(alias: str) -> set[str]:
    with connections[alias].cursor() as cursor:
        return set(connections[alias].introspection.table_names(cursor))


def _sqlite_tables(path) -> set[str]:
    with sqlite3.connect(path) as db:
        return {row[0] for row in db.execute("SELECT name FROM sqlite_master WHERE type='table'")}


def _domain_models():
    for app in DOMAIN_APPS:
        yield from django_apps.get_app_config(app).get_models()


class TestServiceApps:
    def test_default_is_all_four(self):
        assert parse_service_apps(None) == DOMAIN_APPS
        assert parse_service_apps("") == DOMAIN_APPS

    def test_order_and_spaces_are_normalised(self):
        assert parse_service_apps(" payments, users ") == ("users", "payments")

    def test_unknown_app_stops_start_up_naming_the_valid_ones(self):
        result = manage(["check"], {"SERVICE_APPS": "users,billing"})
        assert result.returncode != 0
        assert "billing" in result.stderr
        assert "users, products, inventory, payments" in result.stderr


class TestRouterOnPostgres:
    def test_each_domain_model_lives_only_in_its_own_database(self):
        tables = {alias: _tables(alias) for alias in connections.settings}
        for model in _domain_models():
            home = database_for(model._meta.app_label, model._meta.model_name)
            where = {alias for alias, names in tables.items() if model._meta.db_table in names}
            assert where == {home}, f"{model._meta.label} is in {where}, expected only {home}"

    def test_framework_tables_follow_the_user_table(self):
        assert {"django_session", "django_admin_log", "django_content_type"} <= _tables("users")
        for alias in ("products", "inventory", "payments", "default"):
            assert not {"django_session", "users_user"} & _tables(alias)


class TestRouterOnSqlite:
    def test_zero_setup_default_gives_each_app_its_own_file(self, tmp_path):
        result = manage(["migrate", "--verbosity", "0"], sqlite_env(tmp_path))
        assert result.returncode == 0, result.stderr
        files = {path.stem for path in tmp_path.glob("*.sqlite3")}
        assert files == {"default", *DOMAIN_APPS}
        for model in _domain_models():
            home = database_for(model._meta.app_label, model._meta.model_name)
            where = {name for name in files
                     if model._meta.db_table in _sqlite_tables(tmp_path / f"{name}.sqlite3")}
            assert where == {home}, f"{model._meta.label} is in {where}"

    def test_migrate_of_one_app_touches_only_its_database_and_default(self, tmp_path):
        result = manage(["migrate", "--verbosity", "0"], sqlite_env(tmp_path, ["inventory"]))
        assert result.returncode == 0, result.stderr
        assert {path.stem for path in tmp_path.glob("*.sqlite3")} == {"default", "inventory"}
        inventory_tables = _sqlite_tables(tmp_path / "inventory.sqlite3")
        assert not any(name.startswith(("users_", "products_", "payments_", "django_session"))
                       for name in inventory_tables)

    def test_createsuperuser_noinput_uses_email_from_environment(self, tmp_path):
        env = {**sqlite_env(tmp_path), "DJANGO_SUPERUSER_EMAIL": "boss@example.com",
               "DJANGO_SUPERUSER_PASSWORD": "a-long-Secret-42"}
        assert manage(["migrate", "--verbosity", "0"], env).returncode == 0
        result = manage(["createsuperuser", "--noinput"], env)
        assert result.returncode == 0, result.stderr
        with sqlite3.connect(tmp_path / "users.sqlite3") as db:
            rows = db.execute("SELECT email, is_staff, is_superuser FROM users_user").fetchall()
        assert rows == [("boss@example.com", 1, 1)]


class TestOperationalEndpoints:
    def test_healthz(self, client):
        response = client.get("/healthz")
        assert response.status_code == 200
        assert response.json()["status"] == "ok"

    def test_readyz_checks_every_database_and_redis(self, client):
        response = client.get("/readyz")
        assert response.status_code == 200, response.json()
        checks = response.json()["checks"]
        assert {f"database:{alias}" for alias in ("default", *DOMAIN_APPS)} <= set(checks)
        assert checks["redis"] == "ok"

    def test_metrics_is_prometheus_exposition(self, client):
        response = client.get("/metrics")
        assert response.status_code == 200
        assert b"django_http_responses_total_by_status_view_method" in response.content

    @pytest.mark.parametrize("path", ["/api/schema/", "/api/docs/", "/api/redoc/"])
    def test_api_documents(self, client, path):
        assert client.get(path).status_code == 200

    def test_schema_is_openapi_3(self, client):
        response = client.get("/api/schema/", HTTP_ACCEPT="application/vnd.oai.openapi+json")
        assert response.json()["openapi"].startswith("3.")

    def test_admin_login_page(self, client):
        assert client.get(reverse("admin:login")).status_code == 200


class TestProblemErrors:
    def test_unknown_path_is_a_problem(self, client):
        response = client.get("/api/v1/no-such-thing")
        assert_problem(response, 404, "not_found")

    def test_wrong_method_is_a_problem(self, client):
        response = client.delete("/api/schema/")
        assert_problem(response, 405, "method_not_allowed")


class TestServingASubset:
    def test_products_only_process_serves_products_and_nothing_else(self):
        server = start_http_server("products-only", database_env(["products"]))
        try:
            ready = requests.get(f"{server.url}/readyz", timeout=5).json()
            # products calls users (staff sign-in) and inventory (stock on its admin page), whose
            # targets this process was not given.
            assert set(ready["checks"]) == {"database:default", "database:products", "redis",
                                            "grpc:users", "grpc:inventory"}
            assert ready["checks"]["grpc:users"] == "LookupError: USERS_GRPC_TARGET is not set"
            assert ready["checks"]["grpc:inventory"] == "LookupError: INVENTORY_GRPC_TARGET is not set"
            assert requests.get(f"{server.url}/api/v1/users/me", timeout=5).status_code == 404
            schema = requests.get(f"{server.url}/api/schema/?format=json", timeout=5).json()
            assert not any(path.startswith(("/api/v1/users", "/api/v1/auth", "/api/v1/payments",
                                            "/api/v1/inventory")) for path in schema["paths"])
        finally:
            server.stop()

    def test_readyz_names_a_database_that_is_down(self):
        env = {**database_env(["inventory"]),
               "DATABASE_URL_INVENTORY": "postgres://postgres@127.0.0.1:1/nowhere"}
        server = start_http_server("inventory-db-down", env)
        try:
            response = requests.get(f"{server.url}/readyz", timeout=10)
            assert response.status_code == 503
            # users and products, which inventory calls, have no target here: reported, not failing.
            assert response.json()["failing"] == ["database:inventory"]
            assert response.json()["degraded"] == ["grpc:products", "grpc:users"]
        finally:
            server.stop()


def test_workers_of_a_development_server_share_its_random_secrets(tmp_path):
    """No secrets configured (`make run`): a token issued by one worker works on every other."""
    env = {**sqlite_env(tmp_path), "JWT_SIGNING_KEY": "", "DJANGO_SECRET_KEY": "", "SERVICE_AUTH_SECRET": ""}
    assert manage(["migrate", "--verbosity", "0"], env).returncode == 0
    # As `make run` starts it: gunicorn's master has not loaded Django's settings.
    server = start_http_server("dev-secrets", {**env, "DJANGO_SETTINGS_MODULE": None}, workers=2)
    try:
        api = f"{server.url}/api/v1"
        credentials = {"email": "dev@example.com", "password": "a-long-Secret-42"}
        assert requests.post(f"{api}/auth/register", json=credentials, timeout=10).status_code == 201
        access = requests.post(f"{api}/auth/token", json=credentials, timeout=10).json()["access"]
        headers = {"Authorization": f"Bearer {access}", "Connection": "close"}
        # Many at once, so both workers answer some of them.
        with ThreadPoolExecutor(max_workers=16) as pool:
            answers = list(pool.map(
                lambda _: requests.get(f"{api}/users/me", headers=headers, timeout=10).status_code,
                range(64),
            ))
        assert set(answers) == {200}
    finally:
        server.stop()
