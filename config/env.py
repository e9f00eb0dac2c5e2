"""Typed reads of environment variables that fail at start-up naming the variable."""

import os
from dataclasses import dataclass

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


@dataclass(frozen=True)
class DatabaseLimits:
    """How long a request may wait on a PostgreSQL database, and how many connections it gets."""

    connect_timeout: int  # seconds to open a connection, or to wait for one from the pool
    statement_timeout_ms: int  # server-side limit on every statement (lock waits included); 0: none
    pool_max_size: int  # connections per alias per process; 0: no pool (a connection per request)


# The embedded default's writers queue for the lock (up to `timeout` seconds) instead of failing
# mid-transaction with "database is locked": IMMEDIATE takes the write lock when a transaction
# begins, WAL lets readers go on while one writes.
SQLITE_OPTIONS = {"transaction_mode": "IMMEDIATE", "timeout": 20, "init_command": "PRAGMA journal_mode=WAL;"}


def env_database(name: str, sqlite_path, limits: DatabaseLimits) -> dict:
    value = env_str(name)
    if value is None:
        config = {"ENGINE": "django.db.backends.sqlite3", "NAME": str(sqlite_path),
                  "OPTIONS": dict(SQLITE_OPTIONS)}
    else:
        try:
            config = dj_database_url.parse(value)
        except ValueError as exc:
            raise ImproperlyConfigured(f"{name} is not a valid database URL: {exc}") from None
    # django-prometheus' subclasses of the same backends count queries, errors and connections.
    config["ENGINE"] = config["ENGINE"].replace("django.db.backends.", "django_prometheus.db.backends.")
    if config["ENGINE"].endswith("postgresql"):
        _limit_postgresql(config, limits)
    # Transactions are always explicit and name their database (see docs/architecture.md).
    config["ATOMIC_REQUESTS"] = False
    return config


def _limit_postgresql(config: dict, limits: DatabaseLimits) -> None:
    """No request waits on a dead or hung database longer than these limits (it answers 503)."""
    options = config.setdefault("OPTIONS", {})
    options.setdefault("connect_timeout", limits.connect_timeout)
    # A host that vanished (failover, black hole) acknowledges nothing: without this the kernel
    # retransmits a sent query for ~15 minutes. Idle or long-running sockets are not affected.
    options.setdefault("tcp_user_timeout", limits.connect_timeout * 1000)
    if limits.statement_timeout_ms:
        server_options = f"{options.get('options', '')} -c statement_timeout={limits.statement_timeout_ms}"
        options["options"] = server_options.strip()
    # Django's pool (psycopg_pool) per process and alias. Connections go back to it after each
    # request (CONN_MAX_AGE=0) and are not pinged on the way out (no CONN_HEALTH_CHECKS): a
    # connection the database dropped fails its request with a 503 and is discarded.
    config["CONN_MAX_AGE"] = 0
    config["CONN_HEALTH_CHECKS"] = False
    if limits.pool_max_size:
        options["pool"] = {"min_size": 0, "max_size": limits.pool_max_size, "timeout": limits.connect_timeout}
