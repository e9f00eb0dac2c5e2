"""A guard against transactions that span two apps' databases.

A query on one app's database while another app's database has a transaction open means the
code is doing cross-app work inside a transaction: in split mode that is a network call inside a
transaction, and no commit can cover both sides. The test suite installs this on every
connection; any such query raises.
"""

import re

from django.db import connections
from django.db.backends.signals import connection_created

from config.service_apps import DOMAIN_APPS


class CrossDatabaseTransactionError(AssertionError):
    pass


def _has_open_transaction(alias: str) -> bool:
    if alias not in connections:
        return False
    connection = connections[alias]
    # Transactions a test case opens around each test are not the code's own.
    return any(not block._from_testcase for block in connection.atomic_blocks)


# Django's own bookkeeping (the admin's change log, content types, sessions) sits beside the user
# table and is written by the admin inside the edited app's transaction. It is not app data, and
# losing a log line on rollback is harmless, so such statements are not cross-app work.
_FRAMEWORK_TABLES = re.compile(
    r'^\s*(?:INSERT INTO|SELECT .*? FROM) "(?:django_admin_log|django_content_type|django_session)"',
    re.IGNORECASE | re.DOTALL,
)


def _guard(alias: str):
    def wrapper(execute, sql, params, many, context):
        if _FRAMEWORK_TABLES.match(sql):
            return execute(sql, params, many, context)
        others = [
            other for other in DOMAIN_APPS
            if other != alias and _has_open_transaction(other)
        ]
        if others:
            raise CrossDatabaseTransactionError(
                f"Query on database {alias!r} while a transaction is open on {others}: {sql[:200]}"
            )
        return execute(sql, params, many, context)

    return wrapper


def _install(sender, connection, **kwargs):
    if connection.alias in DOMAIN_APPS and not getattr(connection, "_cross_db_guard", False):
        connection.execute_wrappers.append(_guard(connection.alias))
        connection._cross_db_guard = True


def install():
    """Guard every connection, including those opened later in other threads."""
    connection_created.connect(_install, dispatch_uid="cross_database_transaction_guard")
    for connection in connections.all(initialized_only=True):
        _install(None, connection)
