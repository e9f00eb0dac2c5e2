"""Settings for child processes (consumers, Celery workers) that must also handle probe events."""

from config.settings import *  # noqa: F403
from config.settings import INSTALLED_APPS

INSTALLED_APPS = [*INSTALLED_APPS, "tests.support.probe.ProbeConfig"]
