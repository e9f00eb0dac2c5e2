"""Nothing a test, the bench or a worker runs writes into the source tree: a process keeps its
state under VAR_DIR (a temporary directory in tests and the bench)."""

import sys
import uuid
from pathlib import Path

from django.conf import settings

from config.celery import app as celery_app
from tests.support.polling import wait_until
from tests.support.processes import REPO_ROOT, start_process

SCHEDULE = "celerybeat-schedule*"  # shelve adds a suffix (.db, .dat, ...) of its own


def test_beats_schedule_file_is_under_var_dir():
    assert Path(celery_app.conf.beat_schedule_filename).parent == settings.VAR_DIR


def test_a_beat_started_in_the_checkout_writes_its_schedule_under_var_dir_only(tmp_path):
    var_dir = tmp_path / "var"
    env = {"VAR_DIR": str(var_dir), "SERVICE_APPS": "users",  # users schedules no task
           "CELERY_TASK_DEFAULT_QUEUE": f"source-tree-{uuid.uuid4()}"}
    beat = start_process("beat-schedule", [sys.executable, "-m", "celery", "-A", "config", "beat",
                                           "--loglevel", "INFO"], env, port=0, log_dir=tmp_path)
    try:
        wait_until(lambda: list(var_dir.glob(SCHEDULE)), lambda: f"a schedule file in VAR_DIR: {beat.log()}")
    finally:
        beat.stop()
    assert list(REPO_ROOT.glob(SCHEDULE)) == []
