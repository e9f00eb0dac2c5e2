"""A production process (DJANGO_DEBUG off with a server database, or SHOP_ENV=production) refuses
to start without its secrets, or with a short one, naming the variable; development draws them."""

import os
import subprocess
import sys

import pytest

from config.jwt_keys import generate_private_pem
from config.production import DATABASE_VARIABLES
from tests.support.processes import REPO_ROOT, free_port, manage

SECRETS = {"DJANGO_SECRET_KEY": "d" * 32, "SERVICE_AUTH_SECRET": "s" * 32,
           "JWT_SIGNING_KEY": generate_private_pem()}
NO_SECRETS = {name: "" for name in (*SECRETS, "JWT_VERIFYING_KEY")}
SQLITE = {name: "" for name in DATABASE_VARIABLES}  # the embedded default


def _production(**env) -> dict[str, str]:
    """DJANGO_DEBUG off and PostgreSQL, SHOP_ENV unset (the suite itself runs as development)."""
    return {**NO_SECRETS, **SQLITE, "SHOP_ENV": "", "DJANGO_DEBUG": "false",
            "DATABASE_URL_PRODUCTS": os.environ["DATABASE_URL_PRODUCTS"], **env}


@pytest.mark.parametrize("missing", list(SECRETS))
def test_a_missing_secret_stops_a_production_process_naming_it(missing):
    result = manage(["check"], _production(**{**SECRETS, missing: ""}))
    assert result.returncode != 0
    assert f"{missing} must be set in production" in result.stderr


def test_a_short_secret_is_refused_in_production():
    result = manage(["check"], _production(**{**SECRETS, "SERVICE_AUTH_SECRET": "x"}))
    assert result.returncode != 0
    assert "SERVICE_AUTH_SECRET must be at least 32 bytes long, got 1." in result.stderr


def test_a_production_process_with_its_secrets_starts():
    assert manage(["check"], _production(**SECRETS)).returncode == 0
    explicit = _production(**SECRETS, DATABASE_URL_PRODUCTS="", SHOP_ENV="production")  # SQLite, declared
    assert manage(["check"], explicit).returncode == 0
    refused = manage(["check"], {**explicit, "SERVICE_AUTH_SECRET": ""})
    assert "SERVICE_AUTH_SECRET must be set in production (SHOP_ENV=production)" in refused.stderr


def test_development_draws_random_secrets():
    assert manage(["check"], _production(DATABASE_URL_PRODUCTS="")).returncode == 0  # SQLite: `make run`
    assert manage(["check"], _production(DJANGO_DEBUG="true")).returncode == 0
    assert manage(["check"], _production(SHOP_ENV="development")).returncode == 0


def test_gunicorn_does_not_draw_secrets_for_a_production_server():
    """config/gunicorn.py draws the development secrets for its workers: never in production."""
    env = {**os.environ, **_production(SERVICE_APPS="products")}
    result = subprocess.run(
        [sys.executable, "-m", "gunicorn", "-c", "config/gunicorn.py", "config.wsgi:application",
         "--bind", f"127.0.0.1:{free_port()}", "--workers", "1"],
        cwd=REPO_ROOT, env=env, capture_output=True, text=True, timeout=60,
    )
    assert result.returncode != 0
    assert "DJANGO_SECRET_KEY must be set in production" in result.stdout + result.stderr
