"""Which implementation of an app's interface this process uses.

Where the app is served here, its in-process implementation (`apps/<app>/local.py`); elsewhere
the gRPC client (`grpc_api/clients/<app>.py`) talking to `<APP>_GRPC_TARGET`. Callers go through
`apps/<app>/interface.py` and never know which one they got.
"""

from functools import cache
from importlib import import_module

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

from config.service_apps import is_served


@cache
def implementation(app: str):
    if is_served(app):
        return import_module(f"apps.{app}.local")
    target = settings.GRPC_TARGETS.get(app)
    if not target:
        raise ImproperlyConfigured(
            f"{app.upper()}_GRPC_TARGET must be set: this process calls {app}, which it does not serve."
        )
    client_module = import_module(f"grpc_api.clients.{app}")
    return client_module.Client(target)
