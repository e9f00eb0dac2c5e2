"""gunicorn settings every HTTP process uses: `gunicorn -c config/gunicorn.py config.wsgi:application`.

Workers are separate processes, so Prometheus samples go to files in one directory shared by the
workers of this server and `/metrics` adds them up (prometheus_client's multiprocess mode).
"""

import os
import secrets
import shutil
import tempfile

from config.jwt_keys import generate_private_pem
from config.production import is_production
from config.startup import freeze_startup_objects
from config.structured_logs import logging_config

# Without configured secrets (development) each worker would draw its own random keys, and a
# token or session made by one worker would fail on the next: draw them once, here, for all.
# In production they are required: a worker stops at start-up naming the one missing.
_DEVELOPMENT_SECRETS = {
    "DJANGO_SECRET_KEY": lambda: secrets.token_urlsafe(50),
    "SERVICE_AUTH_SECRET": lambda: secrets.token_urlsafe(50),
    "JWT_SIGNING_KEY": generate_private_pem,
}
for _name, _draw in _DEVELOPMENT_SECRETS.items():
    verify_only = _name == "JWT_SIGNING_KEY" and os.environ.get("JWT_VERIFYING_KEY")
    if not os.environ.get(_name) and not verify_only and not is_production():
        os.environ[_name] = _draw()

# Chosen before any worker imports prometheus_client: it picks its file-backed values at import.
if not os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
    os.environ["PROMETHEUS_MULTIPROC_DIR"] = tempfile.mkdtemp(prefix="shop-prometheus-")

# gunicorn's own lines (start-up, worker exits) in the same JSON shape as the application's.
logconfig_dict = logging_config(os.environ.get("LOG_LEVEL", "INFO"), os.environ.get("LOG_FORMAT", "json"))


def on_starting(server):
    """Samples of a previous run of this server would be added to this run's: start empty."""
    directory = os.environ["PROMETHEUS_MULTIPROC_DIR"]
    shutil.rmtree(directory, ignore_errors=True)
    os.makedirs(directory, exist_ok=True)


def post_worker_init(worker):
    freeze_startup_objects()


def child_exit(server, worker):
    from prometheus_client import multiprocess

    multiprocess.mark_process_dead(worker.pid)
