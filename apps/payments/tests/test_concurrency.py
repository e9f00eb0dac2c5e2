"""100 concurrent identical purchases with one Idempotency-Key against a real server process."""

import threading
from collections import Counter
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests

from apps.payments.models import OutboxEvent, Payment, SandboxCharge
from tests.support.processes import database_env, start_http_server
from tests.support.purchases import PURCHASE_DATABASES, availability, purchase_body
from tests.support.users import authorization

REQUESTS = 100


@pytest.mark.django_db(databases=PURCHASE_DATABASES, transaction=True)
def test_one_key_charges_once_under_100_concurrent_requests(stocked_product, shopper_id):
    product = stocked_product(stock=10)
    server = start_http_server("payments-one-key",
                               database_env())
    headers = {"Authorization": authorization(user_id=shopper_id), "Idempotency-Key": "one-key"}
    body = purchase_body([(product, 1)])
    start = threading.Barrier(REQUESTS)

    def send(_):
        start.wait()
        response = requests.post(f"{server.url}/api/v1/payments", json=body, headers=headers, timeout=60)
        return response.status_code, response.headers.get("Idempotent-Replayed"), response.json()

    try:
        with ThreadPoolExecutor(REQUESTS) as pool:
            results = list(pool.map(send, range(REQUESTS)))
    finally:
        server.stop()

    assert Counter(status for status, _, _ in results).keys() <= {201, 409}, server.log()[-3000:]
    first = [document for status, replayed, document in results if status == 201 and replayed is None]
    replays = [document for status, replayed, document in results if replayed == "true"]
    in_progress = [document["code"] for status, _, document in results if status == 409]
    assert len(first) == 1
    assert len(first) + len(replays) + len(in_progress) == REQUESTS
    assert all(document == first[0] for document in replays)
    assert set(in_progress) <= {"idempotency_key_in_progress"}
    assert SandboxCharge.objects.count() == 1
    assert str(Payment.objects.get().id) == first[0]["id"]
    assert OutboxEvent.objects.filter(type="payments.purchase_completed").count() == 1
    assert availability(product).on_hand == 9
