"""In split mode each process's admin shows its own app's models (and the event plumbing's)."""

import json
import os
import subprocess
import sys

import pytest

from config.service_apps import DOMAIN_APPS
from tests.support.processes import REPO_ROOT, sqlite_env

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
