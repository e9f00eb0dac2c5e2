"""Typed reads of environment variables that fail at start-up naming the variable."""

import os

import dj_database_url
from django.core.exceptions import ImproperlyConfigured


def env_str(name: str, default: str | None = None) -> str | None:
    value = os.environ.get(name)
    return value if value not in (None, "") else default


def env_bool(name: str, default: bool = False) -> bool:
    value = env_str(name)
    if value is None:
        return default
    lowered = value.strip().lower()
    if lowered in ("1", "true", "yes", "on"):
        return True
    if lowered in ("0", "false", "no", "off"):
        return False
    raise ImproperlyConfigured(f"{name} must be a boolean (true/false), got {value!r}.")


def env_int(name: str, default: int) -> int:
    value = env_str(name)
    if value is None:
        return default
    try:
        return int(value)
    except ValueError:
        raise ImproperlyConfigured(f"{name} must be an integer, got {value!r}.") from None


def env_float(name: str, default: float) -> float:
    value = env_str(name)
    if value is None:
        return default
    try:
        return float(value)
    except ValueError:
        raise ImproperlyConfigured(f"{name} must be a number, got {value!r}.") from None


def env_choice(name: str, choices: tuple[str, ...], default: str | None = None) -> str | None:
    value = env_str(name, default)
    if value is not None and value not in choices:
        raise ImproperlyConfigured(f"{name} must be one of {', '.join(choices)}, got {value!r}.")
    return value


def env_list(name: str, default: list[str]) -> list[str]:
    value = env_str(name)
    if value is None:
        return default
    return [item.strip() for item in value.split(",") if item.strip()]


def env_database(name: str, sqlite_path) -> dict:
    value = env_str(name)
    if value is None:
        config = {"ENGINE": "django.db.backends.sqlite3", "NAME": str(sqlite_path)}
    else:
        try:
            config = dj_database_url.parse(value, conn_max_age=60, conn_health_checks=True)
        except ValueError as exc:
            raise ImproperlyConfigured(f"{name} is not a valid database URL: {exc}") from None
    # django-prometheus' subclasses of the same backends count queries, errors and connections.
    config["ENGINE"] = config["ENGINE"].replace("django.db.backends.", "django_prometheus.db.backends.")
    if config["ENGINE"].endswith("postgresql"):
        # Short connect timeout so /readyz and a dead database answer fast instead of hanging.
        config.setdefault("OPTIONS", {}).setdefault("connect_timeout", 3)
    # Transactions are always explicit and name their database (see docs/architecture.md).
    config["ATOMIC_REQUESTS"] = False
    return config
