"""Real threads, each with its own PostgreSQL connection, racing for the same stock rows."""

import random
import threading
import uuid
from collections import Counter

import pytest
from django.db import connections

from apps.inventory import interface, services
from apps.inventory.interface import InsufficientStock, StockLine
from apps.inventory.models import LedgerEntry, Reservation
from apps.inventory.tests.stock import stock_of, stock_up

pytestmark = pytest.mark.django_db(databases=["inventory"], transaction=True)


def run_together(tasks):
    """Run each callable in its own thread, all released at once; return results or exceptions."""
    barrier = threading.Barrier(len(tasks))
    results = [None] * len(tasks)

    def worker(index, task):
        try:
            connections["inventory"].ensure_connection()  # connect before the race, not during it
            barrier.wait(timeout=30)
            results[index] = task()
        except Exception as exc:  # each outcome is asserted by the test
            results[index] = exc
        finally:
            connections.close_all()

    threads = [threading.Thread(target=worker, args=(index, task)) for index, task in enumerate(tasks)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert not any(thread.is_alive() for thread in threads)
    return results


def test_fifty_buyers_racing_for_ten_units_get_exactly_ten():
    [product_id] = stock_up(10)

    def buy(index):
        return lambda: interface.reserve(f"buyer-{index}", [StockLine(product_id, 1)])

    results = run_together([buy(index) for index in range(50)])

    reservations = [result for result in results if isinstance(result, interface.ReservationInfo)]
    refusals = [result for result in results if isinstance(result, InsufficientStock)]
    assert len(reservations) == 10
    assert len(refusals) == 40
    assert {(refusal.code, refusal.extra["product_id"], refusal.extra["available"]) for refusal in refusals} \
        == {("insufficient_stock", str(product_id), 0)}
    record = stock_of(product_id)
    assert (record.on_hand, record.reserved, record.available) == (10, 10, 0)
    assert Reservation.objects.using("inventory").filter(status="active").count() == 10


def test_overlapping_multi_item_reservations_never_deadlock():
    product_ids = stock_up([1000] * 8)
    rng = random.Random(5)  # noqa: S311 -- reproducible baskets, not secrets
    baskets = []
    for _ in range(40):
        chosen = rng.sample(product_ids, rng.randint(3, 8))
        rng.shuffle(chosen)  # callers name products in any order; locking must not follow it
        baskets.append({product_id: rng.randint(1, 3) for product_id in chosen})

    def buy(index, basket):
        lines = [StockLine(product_id, quantity) for product_id, quantity in basket.items()]
        return lambda: services.reserve(f"basket-{index}", lines)

    results = run_together([buy(index, basket) for index, basket in enumerate(baskets)])

    assert [result for result in results if isinstance(result, Exception)] == []
    wanted = Counter()
    for basket in baskets:
        wanted.update(basket)
    assert {product_id: stock_of(product_id).reserved for product_id in product_ids} == {
        product_id: wanted[product_id] for product_id in product_ids
    }


def test_the_same_reservation_retried_concurrently_reserves_once():
    [product_id] = stock_up(100)
    reference = str(uuid.uuid4())

    results = run_together([
        lambda: interface.reserve(reference, [StockLine(product_id, 3)]) for _ in range(10)
    ])

    assert {result.reference for result in results} == {reference}  # every call got the reservation
    assert stock_of(product_id).reserved == 3
    assert Reservation.objects.using("inventory").filter(reference=reference).count() == 1


def test_the_same_sale_committed_concurrently_changes_stock_once():
    [product_id] = stock_up(100)
    reference = str(uuid.uuid4())
    interface.reserve(reference, [StockLine(product_id, 4)])

    results = run_together([
        lambda: services.commit_sale(reference, [StockLine(product_id, 4)]) for _ in range(10)
    ])

    assert results == [None] * 10
    record = stock_of(product_id)
    assert (record.on_hand, record.reserved) == (96, 0)
    assert LedgerEntry.objects.using("inventory").filter(kind="sale", reference=reference).count() == 1
