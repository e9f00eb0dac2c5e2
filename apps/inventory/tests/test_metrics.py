"""Inventory's metrics: expired reservations counted after commit, and the gauges Prometheus
reads from inventory's database when it scrapes."""

from datetime import timedelta

import pytest
from django.db import transaction
from django.test import Client
from django.utils import timezone
from prometheus_client.parser import text_string_to_metric_families

from apps.inventory import services
from apps.inventory.interface import StockLine
from apps.inventory.models import Reservation
from apps.inventory.tests.stock import stock_up
from tests.support.metrics import sample

pytestmark = pytest.mark.django_db(databases="__all__", transaction=True)


def _expired() -> float:
    return sample("shop_reservations_expired_total")


def _scraped_gauges() -> dict[str, float]:
    body = Client().get("/metrics").content.decode()
    wanted = {"shop_active_reservations", "shop_low_stock_products"}
    return {family.name: family.samples[0].value
            for family in text_string_to_metric_families(body) if family.name in wanted}


def _lapse(*references):
    Reservation.objects.using("inventory").filter(reference__in=references).update(
        expires_at=timezone.now() - timedelta(seconds=1))


def test_expired_reservations_are_counted_once_committed():
    [product_id] = stock_up(10)
    for reference in ("pay-1", "pay-2", "pay-3"):
        services.reserve(reference, [StockLine(product_id, 1)])
    _lapse("pay-1", "pay-2")
    before = _expired()

    class Abandoned(Exception):
        pass

    with pytest.raises(Abandoned), transaction.atomic(using="inventory"):
        assert services.release_expired_reservations() == 2
        raise Abandoned
    assert _expired() == before  # rolled back: nothing expired

    assert services.release_expired_reservations() == 2
    assert _expired() == before + 2


def test_active_reservations_and_low_stock_products_are_read_at_scrape_time():
    plenty, scarce = stock_up([100, 10])
    services.set_low_stock_threshold(scarce, 5)
    services.set_low_stock_threshold(plenty, 5)
    before = _scraped_gauges()

    services.reserve("pay-1", [StockLine(scarce, 6)])  # 4 left: low
    services.reserve("pay-2", [StockLine(plenty, 1)])
    after = _scraped_gauges()

    assert after["shop_active_reservations"] == before["shop_active_reservations"] + 2
    assert after["shop_low_stock_products"] == before["shop_low_stock_products"] + 1
