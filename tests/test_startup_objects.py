"""Each kind of server process takes what its start-up allocated out of the garbage collector's
generations once the project is loaded (config/startup.py, `freeze_startup_objects`): here, that
the hook each server runs at that moment is wired to it."""

import gc
import os
import runpy

import pytest
from celery import signals

from tests.support.processes import REPO_ROOT


@pytest.fixture
def unfrozen():
    gc.unfreeze()
    yield
    gc.unfreeze()


@pytest.fixture
def environment_kept():
    """The gunicorn file sets the development secrets and a metrics directory in os.environ for
    its workers: none of them may reach the tests that follow."""
    saved = dict(os.environ)
    yield
    os.environ.clear()
    os.environ.update(saved)


def test_a_gunicorn_worker_freezes_what_start_up_allocated(unfrozen, environment_kept):
    hooks = runpy.run_path(str(REPO_ROOT / "config" / "gunicorn.py"))  # as `gunicorn -c` reads it
    hooks["post_worker_init"](worker=None)
    assert gc.get_freeze_count() > 0


def test_a_celery_worker_freezes_what_start_up_allocated_once_ready(unfrozen):
    import config.celery  # noqa: F401  (connects its signal handlers, as `celery -A config` does)

    signals.worker_ready.send(sender=None)
    assert gc.get_freeze_count() > 0
