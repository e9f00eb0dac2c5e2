"""Which implementation of an app's interface this process uses, checked against the interface.

Where the app is served here, its in-process implementation (`apps/<app>/local.py`); elsewhere
the gRPC client (`grpc_api/clients/<app>.py`) talking to `<APP>_GRPC_TARGET`. Callers go through
`apps/<app>/interface.py` and never know which one they got. Each interface declares a Protocol
(`<App>Interface`); the one chosen, and the interface's own functions, must have its operations
with the same parameters and return annotations, or the process refuses to start.
"""

import inspect
from functools import cache
from importlib import import_module
from importlib.util import find_spec

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

from config.service_apps import DOMAIN_APPS, is_served


@cache
def implementation(app: str):
    if is_served(app):
        return import_module(f"apps.{app}.local")
    target = settings.GRPC_TARGETS.get(app)
    if not target:
        raise ImproperlyConfigured(
            f"{app.upper()}_GRPC_TARGET must be set: this process calls {app}, which it does not serve."
        )
    return import_module(f"grpc_api.clients.{app}").Client(target)


def check_contracts() -> None:
    """At start-up (`CommonConfig.ready`): each app's interface functions, and the implementation
    this process would use of it (in process where served, else the gRPC client), conform to the
    interface's Protocol; a process whose code drifted refuses to start."""
    for app in DOMAIN_APPS:
        if find_spec(f"apps.{app}.interface") is None:  # payments: nobody calls it
            continue
        chosen = (import_module(f"apps.{app}.local") if is_served(app)
                  else import_module(f"grpc_api.clients.{app}").Client)
        protocol = protocol_of(app)
        for implementer in (import_module(f"apps.{app}.interface"), chosen):
            if problems := drift(protocol, implementer):
                raise ImproperlyConfigured(
                    f"{_name(implementer)} drifts from {protocol.__name__}: {'; '.join(problems)}"
                )


def protocol_of(app: str) -> type:
    """The Protocol `apps/<app>/interface.py` declares: `UsersInterface` for users."""
    return getattr(import_module(f"apps.{app}.interface"), f"{app.capitalize()}Interface")


def drift(protocol: type, implementer) -> list[str]:
    """How `implementer` (a module, a class or an instance) differs from `protocol`: each operation
    it lacks or declares with other parameters (names, kinds, defaults, annotations) or another
    return annotation, and each public function it has that `protocol` does not declare.
    Empty when it conforms."""
    expected, actual = _operations(protocol), _operations(implementer)
    problems = [f"{name} is missing" for name in expected.keys() - actual.keys()]
    problems += [f"{name} is not an operation of the interface" for name in actual.keys() - expected.keys()]
    problems += [f"{name}{actual[name]} should be {name}{expected[name]}"
                 for name in expected.keys() & actual.keys() if actual[name] != expected[name]]
    return sorted(problems)


def _operations(owner) -> dict[str, inspect.Signature]:
    """The public functions `owner` defines, by name, with their signatures (without `self`)."""
    if inspect.ismodule(owner):
        functions = {name: value for name, value in vars(owner).items()
                     if inspect.isfunction(value) and value.__module__ == owner.__name__}
        skip_self = False
    else:
        cls = owner if inspect.isclass(owner) else type(owner)
        functions = {name: value for name, value in vars(cls).items() if inspect.isfunction(value)}
        skip_self = True
    signatures = {}
    for name, function in functions.items():
        if not name.startswith("_"):
            signature = inspect.signature(function, eval_str=True)
            parameters = list(signature.parameters.values())[1 if skip_self else 0:]
            signatures[name] = signature.replace(parameters=parameters)
    return signatures


def _name(implementer) -> str:
    if inspect.ismodule(implementer):
        return implementer.__name__
    cls = implementer if inspect.isclass(implementer) else type(implementer)
    return f"{cls.__module__}.{cls.__qualname__}"
