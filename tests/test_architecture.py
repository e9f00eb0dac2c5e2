"""Guards that keep the apps splittable: imports, foreign keys, transactions."""

import ast
from pathlib import Path

import pytest
from django.apps import apps as django_apps
from django.db import connections, transaction

from apps.common.db_guard import CrossDatabaseTransactionError
from config.service_apps import DOMAIN_APPS

ROOT = Path(__file__).resolve().parents[1]
APPS_DIR = ROOT / "apps"
# What an app may import from another: its interface, and the event types it publishes.
PUBLIC_MODULES = ("interface", "event_types")
# tests/ and bench/ belong to no app: they use each app as another app would (interface, event
# types, HTTP). Tests of one app live in apps/<app>/tests and may use its internals.
OUTSIDE_APPS = ("tests", "bench")
# The only modules outside the apps that touch an app's internals, each for a reason no public
# face can serve (docs/architecture.md, "Tests"). Keep it this short.
INTERNALS_USED_OUTSIDE = {
    # UserFactory: users with passwords, for every app's tests.
    "tests/support/users.py": {"users"},
    # A probe event handler that records its effects in inventory's processed-events table.
    "tests/support/probe.py": {"inventory"},
    # Reads the seeded catalogue and counts ledger rows as they land, to measure the event path.
    "bench/run.py": {"products", "inventory"},
}


def _imported_modules(source: str, filename: str = "<source>"):
    for node in ast.walk(ast.parse(source, filename=filename)):
        if isinstance(node, ast.Import):
            yield from (alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            yield node.module
            yield from (f"{node.module}.{alias.name}" for alias in node.names)


def _owner(path: str) -> str | None:
    """The app a file belongs to (its internals are its own), None outside the apps."""
    parts = path.split("/")
    return parts[1] if parts[0] == "apps" and len(parts) > 2 and parts[1] in DOMAIN_APPS else None


def _cross_app_imports(path: str, source: str):
    """The imports in `source` (the file at `path`, relative to the root) of another app's
    internals, each as "<path> imports <module>"."""
    own = {_owner(path)} | INTERNALS_USED_OUTSIDE.get(path, set())
    for module in _imported_modules(source, path):
        parts = module.split(".")
        if len(parts) >= 3 and parts[0] == "apps" and parts[1] in DOMAIN_APPS \
                and parts[1] not in own and parts[2] not in PUBLIC_MODULES:
            yield f"{path} imports {module}"


def _violations(folder: Path):
    for path in sorted(folder.rglob("*.py")):
        yield from _cross_app_imports(path.relative_to(ROOT).as_posix(), path.read_text())


@pytest.mark.parametrize("folder", [f"apps/{app}" for app in DOMAIN_APPS] + list(OUTSIDE_APPS))
def test_code_imports_only_other_apps_interface_and_event_types(folder):
    assert list(_violations(ROOT / folder)) == []


@pytest.mark.parametrize(("path", "source", "found"), [
    ("apps/payments/x.py", "from apps.inventory.models import *", ["models", "models.*"]),
    ("apps/payments/x.py", "import apps.inventory.services", ["services"]),
    ("apps/payments/tests/x.py", "from apps.inventory import selectors", ["selectors"]),
    ("tests/x.py", "from apps.inventory import services", ["services"]),
    ("bench/x.py", "from apps.inventory.models import StockRecord", ["models", "models.StockRecord"]),
    ("tests/support/users.py", "from apps.inventory import models", ["models"]),
    ("apps/inventory/tests/x.py", "from apps.inventory.models import StockRecord", []),
    ("tests/x.py", "from apps.inventory.interface import StockLine", []),
    ("tests/x.py", "from apps.payments import event_types", []),
    ("tests/support/users.py", "from apps.users.models import User", []),
])
def test_the_import_guard_catches_a_reach_into_internals(path, source, found):
    """Checked on source text: the guard's own test writes nothing into the tree."""
    expected = [f"{path} imports apps.inventory.{name}" for name in found]
    assert list(_cross_app_imports(path, source)) == expected


@pytest.mark.parametrize("path", INTERNALS_USED_OUTSIDE)
def test_each_allowed_reach_into_internals_is_still_needed(path):
    used = {module.split(".")[1] for module in _imported_modules((ROOT / path).read_text(), path)
            if module.startswith("apps.") and module.count(".") >= 2
            and module.split(".")[2] not in PUBLIC_MODULES}
    assert used >= INTERNALS_USED_OUTSIDE[path]


def test_nothing_imports_a_conftest_module():
    """Fixtures come from the plugins in tests/fixtures/, helpers from modules of tests/support/."""
    code = [path for folder in ("apps", "tests", "bench") for path in (ROOT / folder).rglob("*.py")]
    assert [f"{path.relative_to(ROOT)} imports {module}" for path in code
            for module in _imported_modules(path.read_text(), str(path))
            if "conftest" in module.split(".")] == []


def test_the_product_never_imports_the_bench():
    """`make bench` mounts its baseline view through its own settings (bench/settings.py)."""
    product = [path for folder in ("apps", "config", "grpc_api") for path in (ROOT / folder).rglob("*.py")]
    assert [f"{path.relative_to(ROOT)} imports {module}" for path in product
            for module in _imported_modules(path.read_text(), str(path))
            if module.split(".")[0] == "bench"] == []


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


@pytest.mark.django_db(databases=["users"], transaction=True)
def test_the_admin_change_log_may_be_written_inside_an_apps_transaction():
    from django.contrib.admin.models import ADDITION, LogEntry
    from django.contrib.contenttypes.models import ContentType

    from tests.support.users import StaffFactory, UserFactory

    staff = StaffFactory()
    with transaction.atomic(using="users"):
        user = UserFactory()
        LogEntry.objects.log_actions(staff.pk, [user], ADDITION)
    assert LogEntry.objects.filter(
        content_type=ContentType.objects.get_for_model(user), object_id=str(user.pk)
    ).exists()
