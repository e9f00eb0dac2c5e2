"""Each interface is a checked contract: its Protocol, the functions callers use, the in-process
implementation and the gRPC client have the same operations; the servicer serves every RPC of
the .proto; the errors a caller can meet are declared; retries follow the .proto."""

import re
from collections.abc import Sequence
from importlib import import_module

import pytest
from django.core.exceptions import ImproperlyConfigured

from apps.common.api.errors import DomainError
from apps.common.registry import check_contracts, drift, protocol_of
from apps.inventory.interface import PendingReservation, ReservationInfo, StockLine
from grpc_api.clients.base import retried_methods
from grpc_api.server import GRPC_APPS


@pytest.mark.parametrize("app", GRPC_APPS)
def test_the_interface_functions_local_and_the_grpc_client_match_the_protocol(app):
    protocol = protocol_of(app)
    for implementer in (import_module(f"apps.{app}.interface"), import_module(f"apps.{app}.local"),
                        import_module(f"grpc_api.clients.{app}").Client):
        assert drift(protocol, implementer) == [], implementer


@pytest.mark.parametrize("served", [("users", "products", "inventory", "payments"), ("payments",)])
def test_a_process_whose_implementation_drifted_refuses_to_start(served, settings, monkeypatch):
    """What `CommonConfig.ready()` runs: the implementation the process would use of each app
    (in process where served, else the gRPC client) against the Protocol."""
    settings.SERVICE_APPS = served
    check_contracts()

    def extra(reference: str) -> None: ...

    owner = "apps.inventory.local" if "inventory" in served else "grpc_api.clients.inventory"
    extra.__module__ = owner
    target = import_module(owner) if "inventory" in served else import_module(owner).Client
    monkeypatch.setattr(target, "extra", extra, raising=False)
    with pytest.raises(ImproperlyConfigured, match=f"{owner}.* drifts from InventoryInterface: "
                                                   "extra is not an operation of the interface"):
        check_contracts()


class DriftingInventory:
    """The inventory client as someone might leave it after editing the interface alone."""

    def reserve(self, reference: str, lines: Sequence[StockLine], ttl: int | None = None) -> ReservationInfo:
        raise NotImplementedError

    def begin_reserve(
        self, reference: str, lines: Sequence[StockLine], ttl_seconds: int | None = 60,
    ) -> PendingReservation:
        raise NotImplementedError

    def release(self, reference: str, *, force: bool = False) -> None:
        raise NotImplementedError

    def receive_stock(self, reference: str, lines: Sequence[StockLine], reason: str) -> bool:
        raise NotImplementedError

    def get_availability(self, product_ids):
        raise NotImplementedError

    def restock(self, reference: str) -> None:
        raise NotImplementedError


def test_a_drifting_implementation_is_reported_operation_by_operation():
    assert drift(protocol_of("inventory"), DriftingInventory) == [
        "begin_reserve(reference: str, lines: collections.abc.Sequence[apps.inventory.interface.StockLine], "
        "ttl_seconds: int | None = 60) -> apps.inventory.interface.PendingReservation should be "
        "begin_reserve(reference: str, lines: collections.abc.Sequence[apps.inventory.interface.StockLine], "
        "ttl_seconds: int | None = None) -> apps.inventory.interface.PendingReservation",
        "get_availability(product_ids) should be get_availability(product_ids: "
        "collections.abc.Iterable[uuid.UUID]) -> dict[uuid.UUID, apps.inventory.interface.Availability]",
        "get_stock_effects is missing",
        "receive_stock(reference: str, lines: collections.abc.Sequence[apps.inventory.interface.StockLine], "
        "reason: str) -> bool should be receive_stock(reference: str, "
        "lines: collections.abc.Sequence[apps.inventory.interface.StockLine], reason: str) -> None",
        "release(reference: str, *, force: bool = False) -> None should be release(reference: str) -> None",
        "reserve(reference: str, lines: collections.abc.Sequence[apps.inventory.interface.StockLine], "
        "ttl: int | None = None) -> apps.inventory.interface.ReservationInfo should be "
        "reserve(reference: str, lines: collections.abc.Sequence[apps.inventory.interface.StockLine], "
        "ttl_seconds: int | None = None) -> apps.inventory.interface.ReservationInfo",
        "restock is not an operation of the interface",
    ]


def _snake_case(name: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower()


@pytest.mark.parametrize("app", GRPC_APPS)
def test_the_servicer_serves_every_rpc_and_each_rpc_is_an_operation(app):
    servicer_module = import_module(f"apps.{app}.grpc_servicer")
    generated = import_module(f"grpc_api.gen.{app}_pb2_grpc")
    service = import_module(f"grpc_api.gen.{app}_pb2").DESCRIPTOR.services_by_name[app.capitalize()]
    servicer = getattr(servicer_module, f"{app.capitalize()}Servicer")
    generated_base = getattr(generated, f"{app.capitalize()}Servicer")
    operations = {name for name in vars(protocol_of(app)) if not name.startswith("_")}
    for method in service.methods:
        assert getattr(servicer, method.name) is not getattr(generated_base, method.name), \
            f"{servicer.__name__} does not serve {method.name}"
        assert _snake_case(method.name) in operations, f"{method.name} is no operation of {app}'s interface"


@pytest.mark.parametrize("app", GRPC_APPS)
def test_every_error_the_interface_names_is_declared_once_per_code(app):
    interface = import_module(f"apps.{app}.interface")
    named = {value for value in vars(interface).values()
             if isinstance(value, type) and issubclass(value, DomainError)}
    assert named == set(interface.ERRORS)
    codes = [error_class.code for error_class in interface.ERRORS]
    assert len(codes) == len(set(codes))


def test_clients_retry_what_the_proto_marks_idempotent():
    services = {app: import_module(f"grpc_api.gen.{app}_pb2").DESCRIPTOR.services_by_name[app.capitalize()]
                for app in GRPC_APPS}
    assert retried_methods(services["users"]) == ["GetUser"]  # a failed Authenticate counts as a guess
    assert retried_methods(services["products"]) == ["GetProducts"]
    assert retried_methods(services["inventory"]) == [
        "Reserve", "Release", "ReceiveStock", "GetAvailability", "GetStockEffects",
    ]
