"""In split mode each process's admin shows its own app's models (and the event plumbing's), and
staff sign in there with their users account, checked over gRPC."""

import json
import os
import re
import subprocess
import sys
import uuid

import psycopg
import pytest
import requests
from django.conf import settings

from apps.inventory import interface as inventory_interface
from config.service_apps import DOMAIN_APPS
from tests.support.processes import (
    REPO_ROOT,
    database_env,
    manage,
    sqlite_env,
    start_grpc_server,
    start_http_server,
)
from tests.support.users import PASSWORD, StaffFactory, UserFactory, authorization

LIST_ADMIN_MODELS = """
import json, django
django.setup()
import config.urls
from django.contrib import admin
print(json.dumps(sorted(model._meta.label for model in admin.site._registry)))
"""


def admin_models(apps, tmp_path) -> list[str]:
    result = subprocess.run(
        [sys.executable, "-c", LIST_ADMIN_MODELS], cwd=REPO_ROOT, capture_output=True, text=True,
        timeout=60,
        env={**os.environ, **sqlite_env(tmp_path, apps), "DJANGO_SETTINGS_MODULE": "config.settings"},
    )
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout.splitlines()[-1])


@pytest.mark.parametrize("app", DOMAIN_APPS)
def test_a_single_app_process_registers_only_its_models(app, tmp_path):
    labels = admin_models([app], tmp_path)
    assert {label.split(".")[0] for label in labels} == {app, "common"}
    assert [label for label in labels if label.startswith("common.")] == ["common.DeadLetter"]


def test_the_monolith_registers_every_apps_models(tmp_path):
    labels = admin_models(None, tmp_path)
    assert {label.split(".")[0] for label in labels} == {*DOMAIN_APPS, "common"}


@pytest.fixture
def own_default_database():
    """A products-only process's own `default` database (sessions, admin log, shadow staff rows),
    migrated as that process migrates it."""
    db = settings.DATABASES["default"]
    name = f"{db['NAME']}_products_process"
    server = {"host": db["HOST"], "port": db["PORT"], "user": db["USER"], "dbname": "postgres",
              "autocommit": True}
    with psycopg.connect(**server) as connection:
        connection.execute(f'DROP DATABASE IF EXISTS "{name}"')
        connection.execute(f'CREATE DATABASE "{name}"')
    url = f"postgres://{db['USER']}@{db['HOST']}:{db['PORT']}/{name}"
    migrated = manage(["migrate", "--database", "default", "--verbosity", "0"],
                      {**database_env(["products"]), "DATABASE_URL": url})
    assert migrated.returncode == 0, migrated.stderr
    yield url
    with psycopg.connect(**server) as connection:
        connection.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def sign_in(base_url, email, password=PASSWORD) -> requests.Session:
    session = requests.Session()
    page = session.get(f"{base_url}/admin/login/", timeout=10)
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.text).group(1)
    session.post(f"{base_url}/admin/login/?next=/admin/", timeout=20, data={
        "csrfmiddlewaretoken": token, "username": email, "password": password, "next": "/admin/"})
    return session


def admin_index_apps(session, base_url) -> set[str] | None:
    """The apps the admin index links to, or None when it sends the visitor to sign in."""
    response = session.get(f"{base_url}/admin/", timeout=10, allow_redirects=False)
    if response.status_code == 302:
        return None
    assert response.status_code == 200
    return set(re.findall(r'href="/admin/(\w+)/"', response.text))


@pytest.mark.django_db(databases=["default", "users", "products"], transaction=True)
def test_staff_sign_in_to_a_products_process_with_their_users_account(own_default_database):
    staff = StaffFactory()
    shopper = UserFactory()
    users_grpc = start_grpc_server("split-admin-users-grpc", database_env(["users"]))
    products = None
    try:
        products = start_http_server("split-admin-products", {
            **database_env(["products"]), "DATABASE_URL": own_default_database,
            "USERS_GRPC_TARGET": users_grpc.address})

        session = sign_in(products.url, staff.email)
        assert admin_index_apps(session, products.url) == {"products"}
        operations = session.get(f"{products.url}/admin/", timeout=10).text
        assert "Operations" in operations and "Products: Outbox events" in operations
        assert session.get(f"{products.url}/admin/products/product/", timeout=10).status_code == 200
        assert session.get(f"{products.url}/admin/users/user/", timeout=10).status_code == 404

        assert admin_index_apps(sign_in(products.url, shopper.email), products.url) is None
        assert admin_index_apps(sign_in(products.url, staff.email, "wrong-Password-1"), products.url) is None

        # Deactivated in users, the staff member's open session in products ends too.
        staff.is_active = False
        staff.save(update_fields=["is_active"])
        assert admin_index_apps(session, products.url) is None
    finally:
        if products is not None:
            products.stop()
        users_grpc.stop()


def csrf_post(session, url, data) -> requests.Response:
    form = session.get(url, timeout=10).text
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', form).group(1)
    return session.post(url, data={"csrfmiddlewaretoken": token, **data}, timeout=20, allow_redirects=False)


@pytest.mark.django_db(databases=["default", "users", "products", "inventory"], transaction=True)
def test_split_admins_ask_each_other_through_the_interfaces(own_default_database):
    """Inventory's admin stocks only products the catalogue knows (asked over gRPC); products'
    admin shows a product's stock (asked over gRPC) and no link to an admin it does not serve."""
    staff = StaffFactory()
    servers = []
    try:
        users_grpc = start_grpc_server("split-admin2-users-grpc", database_env(["users"]))
        servers.append(users_grpc)
        users = {"USERS_GRPC_TARGET": users_grpc.address}
        products_grpc = start_grpc_server("split-admin2-products-grpc",
                                          {**database_env(["products"]), **users})
        servers.append(products_grpc)
        inventory_grpc = start_grpc_server("split-admin2-inventory-grpc", {
            **database_env(["inventory"]), **users, "PRODUCTS_GRPC_TARGET": products_grpc.address})
        servers.append(inventory_grpc)
        common = {"DATABASE_URL": own_default_database, **users}
        inventory = start_http_server("split-admin2-inventory", {
            **database_env(["inventory"]), **common, "PRODUCTS_GRPC_TARGET": products_grpc.address})
        servers.append(inventory)
        products = start_http_server("split-admin2-products", {
            **database_env(["products"]), **common, "INVENTORY_GRPC_TARGET": inventory_grpc.address})
        servers.append(products)

        # Created in the products process, which tells no inventory (it serves none, has no Kafka).
        created = requests.post(f"{products.url}/api/v1/products", timeout=10,
                                headers={"Authorization": authorization(staff.id, is_staff=True)},
                                json={"sku": "SPLIT-1", "name": "Split rake", "price": "3.00"})
        assert created.status_code == 201, created.text
        product_id = uuid.UUID(created.json()["id"])

        session = sign_in(inventory.url, staff.email)
        add_url = f"{inventory.url}/admin/inventory/stockrecord/add/"
        unknown = csrf_post(session, add_url, {"product_id": str(uuid.uuid4()), "on_hand": "5",
                                               "reason": "typo"})
        assert unknown.status_code == 200 and "The catalogue has no product with this id" in unknown.text
        added = csrf_post(session, add_url, {"product_id": str(product_id), "on_hand": "5",
                                             "reason": "delivery"})
        assert added.status_code == 302, added.text[-2000:]
        assert inventory_interface.get_availability([product_id])[product_id].on_hand == 5
        # The SKU and name inventory asked the catalogue for, on its stock list.
        listed = session.get(f"{inventory.url}/admin/inventory/stockrecord/", params={"q": "SPLIT-1"},
                             timeout=10)
        assert "Split rake" in listed.text

        page = sign_in(products.url, staff.email).get(
            f"{products.url}/admin/products/product/{product_id}/change/", timeout=10)
        assert "5 available (5 on hand, 0 reserved)" in page.text
        assert "/admin/inventory/" not in page.text
    finally:
        for server in reversed(servers):
            server.stop()
