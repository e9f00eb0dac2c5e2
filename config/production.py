"""Which processes run in production, and the secrets they must be given.

A process is in production when `SHOP_ENV=production`, or, without `SHOP_ENV`, when `DJANGO_DEBUG`
is off and any `DATABASE_URL*` is set to a server database (that means a deployment; the
embedded default, `make run`, is SQLite). `SHOP_ENV=development` says otherwise explicitly.

In production `DJANGO_SECRET_KEY` and `SERVICE_AUTH_SECRET` must be set, each at least
MIN_SECRET_BYTES long, and so must a JWT key (see `config/jwt_keys.py`); random keys would die
with the pod and differ between pods. In development they are drawn at random per start.
"""

import secrets

from django.core.exceptions import ImproperlyConfigured

from config.env import env_bool, env_str
from config.service_apps import DOMAIN_APPS

MIN_SECRET_BYTES = 32
ENVIRONMENTS = ("production", "development")
DATABASE_VARIABLES = ("DATABASE_URL", *(f"DATABASE_URL_{app.upper()}" for app in DOMAIN_APPS))


def is_production() -> bool:
    declared = env_str("SHOP_ENV")
    if declared is not None:
        if declared not in ENVIRONMENTS:
            raise ImproperlyConfigured(f"SHOP_ENV must be production or development, got {declared!r}.")
        return declared == "production"
    server_database = any(
        (url := env_str(name)) is not None and not url.startswith("sqlite")
        for name in DATABASE_VARIABLES
    )
    return server_database and not env_bool("DJANGO_DEBUG", False)


def secret(name: str, production: bool) -> str:
    """The value of secret `name`: required in production, random per start in development."""
    value = env_str(name)
    if value is None:
        if production:
            raise ImproperlyConfigured(f"{name} must be set in production ({production_reason()}).")
        return secrets.token_urlsafe(50)
    if len(value.encode()) < MIN_SECRET_BYTES:
        raise ImproperlyConfigured(f"{name} must be at least {MIN_SECRET_BYTES} bytes long, "
                                   f"got {len(value.encode())}.")
    return value


def require_jwt_key(production: bool, issues_tokens: bool) -> None:
    if not production:
        return
    if issues_tokens and not env_str("JWT_SIGNING_KEY"):
        raise ImproperlyConfigured(f"JWT_SIGNING_KEY must be set in production where users is served "
                                   f"(it issues tokens; {production_reason()}).")
    if not env_str("JWT_SIGNING_KEY") and not env_str("JWT_VERIFYING_KEY"):
        raise ImproperlyConfigured(f"JWT_SIGNING_KEY or JWT_VERIFYING_KEY must be set in production "
                                   f"({production_reason()}).")


def production_reason() -> str:
    if env_str("SHOP_ENV"):
        return "SHOP_ENV=production"
    return "DJANGO_DEBUG is off and a DATABASE_URL is not SQLite; SHOP_ENV=development overrides"
