"""The counters alerts take `increase()` of are exported at 0 from start-up, for every label set
the process can write: otherwise the first relay failure or dead letter is invisible to them."""

import requests
from prometheus_client.parser import text_string_to_metric_families

from tests.support.processes import database_env, start_http_server


def _samples(body: str, name: str) -> dict[tuple, float]:
    return {tuple(sorted(sample.labels.items())): sample.value
            for family in text_string_to_metric_families(body) for sample in family.samples
            if sample.name == name}


def test_relay_and_consumer_outcomes_are_scraped_at_zero_before_any_event():
    server = start_http_server("alert-counters", database_env(), workers=2)  # multiprocess metrics
    try:
        body = requests.get(f"{server.url}/metrics", timeout=10).text
    finally:
        server.stop()

    relayed = _samples(body, "shop_events_relayed_total")
    publishing = ("inventory", "payments", "products")
    assert relayed == {(("app", app), ("outcome", outcome)): 0.0
                       for app in publishing for outcome in ("failed", "published")}
    consumed = _samples(body, "shop_events_consumed_total")
    assert consumed[(("app", "inventory"), ("outcome", "dead_lettered"), ("topic", "payments.events"))] == 0.0
    assert set(consumed.values()) == {0.0}
    assert {labels[2][1] for labels in consumed} >= {"payments.events", "inventory.events", "products.events"}
