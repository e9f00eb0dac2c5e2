"""Guards that keep the apps splittable: imports, foreign keys, transactions."""

import ast
from pathlib import Path

import pytest
from django.apps import apps as django_apps
from django.db import connections, transaction

from apps.common.db_guard import CrossDatabaseTransactionError
from config.service_apps import DOMAIN_APPS

APPS_DIR = Path(__file__).resolve().parents[1] / "apps"
# What an app may import from another: its interface, and the event types it publishes.
PUBLIC_MODULES = ("interface", "event_types")


def _imported_modules(path: Path):
    tree = ast.parse(path.read_text(), filename=str(path))
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            yield node.module
            yield from (f"{node.module}.{alias.name}" for alias in node.names)


def _cross_app_violations(app: str):
    for path in (APPS_DIR / app).rglob("*.py"):
        for module in _imported_modules(path):
            parts = module.split(".")
            if len(parts) >= 3 and parts[0] == "apps" and parts[1] in DOMAIN_APPS \
                    and parts[1] != app and parts[2] not in PUBLIC_MODULES:
                yield f"{path.relative_to(APPS_DIR.parent)} imports {module}"


@pytest.mark.parametrize("app", DOMAIN_APPS)
def test_apps_import_only_each_others_interface_and_event_types(app):
    assert list(_cross_app_violations(app)) == []


def test_the_import_guard_catches_a_reach_into_internals():
    probe = APPS_DIR / "payments" / "_probe_for_guard_test.py"
    probe.write_text("from apps.inventory.models import *  # noqa\n")
    try:
        assert list(_cross_app_violations("payments")) == [
            "apps/payments/_probe_for_guard_test.py imports apps.inventory.models",
            "apps/payments/_probe_for_guard_test.py imports apps.inventory.models.*",
        ]
    finally:
        probe.unlink()


def test_the_product_never_imports_the_bench():
    """`make bench` mounts its baseline view through its own settings (bench/settings.py)."""
    root = APPS_DIR.parent
    product = [path for folder in ("apps", "config", "grpc_api") for path in (root / folder).rglob("*.py")]
    assert [f"{path.relative_to(root)} imports {module}" for path in product
            for module in _imported_modules(path) if module.split(".")[0] == "bench"] == []


@pytest.mark.parametrize("app", DOMAIN_APPS)
def test_no_relation_crosses_two_apps(app):
    for model in django_apps.get_app_config(app).get_models():
        for field in model._meta.get_fields():
            # Forward relations only: the framework's own tables may point at users.
            if field.is_relation and not field.auto_created:
                target = field.related_model._meta.app_label
                assert target == app, f"{model._meta.label}.{field.name} points into {target}"


@pytest.mark.django_db(databases=["users", "products"], transaction=True)
def test_query_on_one_app_inside_anothers_transaction_fails():
    with (
        pytest.raises(CrossDatabaseTransactionError, match="transaction is open on"),
        transaction.atomic(using="users"),
    ):
        connections["users"].cursor().execute("SELECT 1")
        connections["products"].cursor().execute("SELECT 1")


@pytest.mark.django_db(databases=["users", "products"], transaction=True)
def test_queries_one_after_another_are_fine():
    with transaction.atomic(using="users"):
        connections["users"].cursor().execute("SELECT 1")
    with transaction.atomic(using="products"):
        connections["products"].cursor().execute("SELECT 1")


@pytest.mark.django_db(databases=["users", "products"], transaction=True)
def test_the_admin_change_log_may_be_written_inside_an_apps_transaction():
    from django.contrib.admin.models import ADDITION, LogEntry
    from django.contrib.contenttypes.models import ContentType

    from apps.products.models import Category
    from tests.support.users import StaffFactory

    staff = StaffFactory()
    with transaction.atomic(using="products"):
        category = Category.objects.create(name="Logged", slug="logged")
        LogEntry.objects.log_actions(staff.pk, [category], ADDITION)
    assert LogEntry.objects.filter(
        content_type=ContentType.objects.get_for_model(Category), object_id=str(category.pk)
    ).exists()
