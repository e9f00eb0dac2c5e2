"""One owner per table: each domain app's models live only in that app's database alias.

Django's framework tables (auth, contenttypes, sessions, admin log) must sit next to the user
table because the admin log and sessions point at users. So they follow the user table: into the
users database where users is served, and into `default` elsewhere, where the user table holds
only the staff accounts that sign in to that process's admin (see docs/architecture.md).
"""

from config.service_apps import DOMAIN_APPS, is_served

FRAMEWORK_APPS = frozenset({"admin", "auth", "contenttypes", "sessions"})
# Third-party apps whose tables belong to a domain app's database.
ATTACHED_APPS = {"token_blacklist": "users"}


def framework_alias() -> str:
    return "users" if is_served("users") else "default"


def database_for(app_label: str, model_name: str | None = None) -> str | None:
    """The alias that owns `app_label`'s tables, or None for Django's `default`."""
    app_label = ATTACHED_APPS.get(app_label, app_label)
    if app_label in FRAMEWORK_APPS:
        return framework_alias()
    if app_label == "users" and model_name == "user" and not is_served("users"):
        return "default"
    if app_label in DOMAIN_APPS:
        return app_label
    return None


class AppDatabaseRouter:
    def db_for_read(self, model, **hints):
        return database_for(model._meta.app_label, model._meta.model_name)

    db_for_write = db_for_read

    def allow_relation(self, obj1, obj2, **hints):
        return obj1._state.db == obj2._state.db

    def allow_migrate(self, db, app_label, model_name=None, **hints):
        owner = ATTACHED_APPS.get(app_label, app_label)
        if owner in DOMAIN_APPS and not (owner == "users" and model_name == "user"):
            return is_served(owner) and db == owner
        return db == (database_for(app_label, model_name) or "default")
