"""What every entry point does as it starts. manage.py, WSGI, ASGI and Celery load the settings
through here, so a missing or malformed variable stops the process with one line naming it instead
of a traceback; a server process, once it has loaded the project, freezes what start-up allocated."""

import gc
import sys

from django.core.exceptions import ImproperlyConfigured

CONFIGURATION_ERROR = 2
# gunicorn stops, instead of restarting the worker over and over, when a worker exits with it.
APP_LOAD_ERROR = 4


def exit_with(error: ImproperlyConfigured, exit_code: int = CONFIGURATION_ERROR):
    print(f"Configuration error: {error}", file=sys.stderr, flush=True)
    raise SystemExit(exit_code) from None


def load_settings(exit_code: int = CONFIGURATION_ERROR):
    from django.conf import settings

    try:
        settings.INSTALLED_APPS  # noqa: B018 (reading one setting imports and checks them all)
    except ImproperlyConfigured as error:
        exit_with(error, exit_code)
    return settings


def freeze_startup_objects():
    """Call once a server process has loaded the project: what start-up allocated (Django, the
    apps, their modules: about 140,000 objects) leaves the garbage collector's generations, so
    a full collection walks only what requests allocate. Its pauses, which stop every thread of
    the process, went from 93 ms to 12 ms (docs/benchmarks.md)."""
    gc.freeze()


def __getattr__(name: str):
    """`checked_settings`: Django's settings loaded as above, for Celery's `config_from_object`,
    which reads them only once the worker starts."""
    if name == "checked_settings":
        return load_settings()
    raise AttributeError(name)
