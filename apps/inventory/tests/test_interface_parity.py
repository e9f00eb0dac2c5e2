"""Contract parity: the same interface cases against `apps.inventory.local` (in-process) and against
`grpc_api.clients.inventory.Client` talking to a real `manage.py grpcserve`."""

from datetime import UTC, datetime, timedelta
from uuid import uuid4

import pytest

from apps.common.api.errors import DomainError
from apps.inventory import services
from apps.inventory.interface import (
    Availability,
    InsufficientStock,
    InvalidQuantity,
    ReservationInfo,
    StockEffects,
    StockLine,
)
from apps.products import interface as products_interface
from grpc_api.clients.inventory import Client
from tests.support.grpc import grpc_db

pytestmark = grpc_db


class TestInventory:
    def test_received_stock_is_available_unknown_products_answer_zeros(self, inventory_api):
        product, unknown = uuid4(), uuid4()
        inventory_api.receive_stock("delivery-1", [StockLine(product, 7)], "goods received")
        assert inventory_api.get_availability([product, unknown]) == {
            product: Availability(product, on_hand=7, reserved=0, available=7),
            unknown: Availability(unknown, on_hand=0, reserved=0, available=0),
        }

    def test_receiving_twice_with_one_reference_counts_once(self, inventory_api):
        product = uuid4()
        for _ in range(2):
            inventory_api.receive_stock("delivery-1", [StockLine(product, 7)], "goods received")
        assert inventory_api.get_availability([product])[product].on_hand == 7

    def test_reserve_then_release(self, inventory_api):
        first, second = uuid4(), uuid4()
        inventory_api.receive_stock("delivery-1", [StockLine(first, 5), StockLine(second, 2)], "seed")
        before = datetime.now(UTC)
        reservation = inventory_api.reserve("pay-1", [StockLine(first, 3), StockLine(second, 2)], 120)
        assert isinstance(reservation, ReservationInfo)
        assert (reservation.reference, reservation.status) == ("pay-1", "active")
        assert sorted(reservation.lines, key=lambda line: line.quantity) == [
            StockLine(second, 2), StockLine(first, 3),
        ]
        assert before + timedelta(seconds=119) <= reservation.expires_at <= datetime.now(UTC) + timedelta(
            seconds=121)
        assert inventory_api.get_availability([first])[first] == Availability(first, 5, 3, 2)

        inventory_api.release("pay-1")
        inventory_api.release("pay-1")  # twice is a no-op
        inventory_api.release("never-reserved")  # unknown is a no-op
        assert inventory_api.get_availability([first])[first] == Availability(first, 5, 0, 5)

    def test_reserving_again_with_one_reference_reserves_once(self, inventory_api):
        product = uuid4()
        inventory_api.receive_stock("delivery-1", [StockLine(product, 5)], "seed")
        first = inventory_api.reserve("pay-1", [StockLine(product, 3)])
        again = inventory_api.reserve("pay-1", [StockLine(product, 3)])
        assert again == first
        assert inventory_api.get_availability([product])[product].available == 2

    def test_insufficient_stock_names_the_line_and_reserves_nothing(self, inventory_api):
        plenty, scarce = uuid4(), uuid4()
        inventory_api.receive_stock("delivery-1", [StockLine(plenty, 10), StockLine(scarce, 1)], "seed")
        with pytest.raises(InsufficientStock) as raised:
            inventory_api.reserve("pay-1", [StockLine(plenty, 2), StockLine(scarce, 3)])
        error = raised.value
        assert (error.status, error.code) == (409, "insufficient_stock")
        assert error.extra == {"product_id": str(scarce), "available": 1}
        assert inventory_api.get_availability([plenty])[plenty].available == 10

    def test_a_bad_quantity_is_the_interfaces_own_error_and_reserves_nothing(self, inventory_api):
        product = uuid4()
        inventory_api.receive_stock("delivery-1", [StockLine(product, 5)], "seed")
        for lines in ([], [StockLine(product, 0)]):
            with pytest.raises(InvalidQuantity) as raised:
                inventory_api.reserve("pay-1", lines)
            assert (raised.value.status, raised.value.code) == (400, "invalid_quantity")
        assert inventory_api.get_availability([product])[product].available == 5

    def test_stock_effects_say_what_inventory_did_for_each_payment(self, inventory_api):
        product = uuid4()
        inventory_api.receive_stock("delivery-1", [StockLine(product, 10)], "seed")
        for reference in ("held", "released", "sold", "refunded"):
            inventory_api.reserve(reference, [StockLine(product, 1)])
        inventory_api.release("released")
        # Sales and refunds are applied from payments' events, not through the interface.
        for reference in ("sold", "refunded"):
            services.commit_sale(reference, [StockLine(product, 1)])
        services.restock_refund("refunded", [StockLine(product, 1)])

        assert inventory_api.get_stock_effects(["held", "released", "sold", "refunded", "unknown"]) == {
            "held": StockEffects("held", reservation="active", restocked=False),
            "released": StockEffects("released", reservation="released", restocked=False),
            "sold": StockEffects("sold", reservation="committed", restocked=False),
            "refunded": StockEffects("refunded", reservation="committed", restocked=True),
            "unknown": StockEffects("unknown", reservation=None, restocked=False),
        }
        assert inventory_api.get_stock_effects([]) == {}


def test_an_error_the_calling_interface_does_not_declare_keeps_its_code_and_status(grpc_server):
    class Undeclaring(Client):
        interface = products_interface  # declares no errors of its own

    with pytest.raises(DomainError) as raised:
        Undeclaring(grpc_server.address).reserve("pay-1", [])
    assert type(raised.value) is DomainError
    assert (raised.value.status, raised.value.code) == (400, "invalid_quantity")
