"""A database that cannot be reached, or hangs, against a real server: 503 `service_unavailable`
with Retry-After, nothing charged, the Idempotency-Key free again once the database is back, and
/healthz answering all along. Each app's database goes through its own TCP proxy that the test
cuts and restores (the machine's PostgreSQL is shared: it is never stopped)."""

import threading
import time
import uuid

import psycopg
import pytest
import requests
from django.apps import apps
from django.conf import settings
from django.core.management import call_command
from psycopg import sql

from apps.payments.models import IdempotencyKey, OutboxEvent, Payment, SandboxCharge
from tests.support.polling import wait_until
from tests.support.problems import assert_problem
from tests.support.processes import database_env, start_http_server
from tests.support.proxy import TcpProxy
from tests.support.purchases import PURCHASE_DATABASES, availability, purchase_body
from tests.support.users import authorization

pytestmark = pytest.mark.django_db(databases=PURCHASE_DATABASES, transaction=True)

STATEMENT_TIMEOUT_MS = 1000


@pytest.fixture
def proxies():
    """One cuttable proxy per app database the purchase uses."""
    started = {}
    for alias in PURCHASE_DATABASES:
        database = settings.DATABASES[alias]
        started[alias] = TcpProxy(database["HOST"], int(database["PORT"] or 5432)).start()
    yield started
    for proxy in started.values():
        proxy.cut()


@pytest.fixture
def server(proxies):
    env = database_env()
    for alias, proxy in proxies.items():
        database = settings.DATABASES[alias]
        env[f"DATABASE_URL_{alias.upper()}"] = f"postgres://{database['USER']}@127.0.0.1:{proxy.port}/{database['NAME']}"
    env.update(DATABASE_CONNECT_TIMEOUT="2", DATABASE_STATEMENT_TIMEOUT_MS=str(STATEMENT_TIMEOUT_MS))
    started = start_http_server("payments-database-outage", env)
    yield started
    started.stop()


class Shop:
    def __init__(self, url: str):
        self.url = f"{url}/api/v1"
        self.shopper = {"Authorization": authorization(uuid.uuid4())}
        self.staff = {"Authorization": authorization(uuid.uuid4(), is_staff=True)}

    def buy(self, product_id, key: str, quantity: int = 1) -> requests.Response:
        return requests.post(f"{self.url}/payments", json=purchase_body([(product_id, quantity)]),
                             headers={**self.shopper, "Idempotency-Key": key}, timeout=30)

    def stock(self, product_id) -> requests.Response:
        return requests.get(f"{self.url}/inventory/{product_id}", headers=self.staff, timeout=30)


def _assert_unavailable(response: requests.Response):
    assert_problem(response, 503, "service_unavailable")
    assert int(response.headers["Retry-After"]) > 0


def _buy_once_back(shop: Shop, product_id, key: str) -> requests.Response:
    """The first answer other than 503 once the database is back (a pooled connection the cut
    killed fails one request, with 503, and is discarded)."""
    deadline = time.monotonic() + 15
    while (response := shop.buy(product_id, key)).status_code == 503:
        assert time.monotonic() < deadline, response.text
        time.sleep(0.2)
    return response


def test_inventory_database_cut_answers_503_charges_nothing_and_frees_the_key(server, proxies,
                                                                              stocked_product):
    product = stocked_product(stock=5)
    shop = Shop(server.url)
    assert shop.stock(product).status_code == 200

    proxies["inventory"].cut()
    key = str(uuid.uuid4())
    _assert_unavailable(shop.buy(product, key))  # was 500 internal_error
    _assert_unavailable(shop.stock(product))  # was 500
    assert SandboxCharge.objects.count() == 0
    assert not IdempotencyKey.objects.filter(key=key).exists()  # was stuck in_progress for 60 s
    assert list(Payment.objects.values_list("status", "failure_code")) == [("failed", "service_unavailable")]

    proxies["inventory"].restore()
    response = _buy_once_back(shop, product, key)  # the same key, right away: was 409 in progress
    assert response.status_code == 201, response.text
    assert SandboxCharge.objects.count() == 1
    assert availability(product).on_hand == 4
    assert availability(product).reserved == 0


def test_payments_database_cut_answers_503_and_the_key_works_once_it_is_back(server, proxies,
                                                                             stocked_product):
    product = stocked_product(stock=5)
    shop = Shop(server.url)
    proxies["payments"].cut()
    key = str(uuid.uuid4())
    _assert_unavailable(shop.buy(product, key))
    assert requests.get(f"{shop.url}/payments", headers=shop.shopper, timeout=30).status_code == 503
    proxies["payments"].restore()
    assert _buy_once_back(shop, product, key).status_code == 201
    assert availability(product).on_hand == 4


def test_products_database_cut_answers_503_on_the_catalogue_and_the_purchase(server, proxies,
                                                                             stocked_product):
    product = stocked_product(stock=5)
    shop = Shop(server.url)
    answered = str(uuid.uuid4())
    bought = shop.buy(product, answered)
    proxies["products"].cut()
    _assert_unavailable(requests.get(f"{shop.url}/products/{product}", timeout=30))
    _assert_unavailable(shop.buy(product, str(uuid.uuid4())))
    assert SandboxCharge.objects.count() == 1
    assert (availability(product).on_hand, availability(product).reserved) == (4, 0)  # one sold
    replay = shop.buy(product, answered)  # a key with an answer needs no prices: it replays
    assert (replay.status_code, replay.headers.get("Idempotent-Replayed")) == (201, "true"), replay.text
    assert replay.content == bought.content


def test_a_hung_database_times_out_into_503_while_healthz_answers(server, stocked_product):
    """A statement that waits (here on a row lock another session holds) is cancelled by the
    statement timeout: the buyer gets 503 after about a second, not after the hang (was 30 s
    and 500), and /healthz answers meanwhile."""
    product = stocked_product(stock=5)
    shop = Shop(server.url)
    database = settings.DATABASES["inventory"]
    answers = []
    connect = lambda: psycopg.connect(  # noqa: E731
        host=database["HOST"], port=database["PORT"] or 5432, user=database["USER"], dbname=database["NAME"],
        autocommit=True)
    with connect() as locker, connect() as observer, locker.transaction():
        locker.execute(sql.SQL("SELECT 1 FROM {} WHERE product_id = %s FOR UPDATE").format(
            sql.Identifier(apps.get_model("inventory", "StockRecord")._meta.db_table)), [product])
        key = str(uuid.uuid4())
        buyer = threading.Thread(target=lambda: answers.append(shop.buy(product, key)))
        buyer.start()
        _wait_for_a_lock_wait(observer)
        assert requests.get(f"{server.url}/healthz", timeout=2).status_code == 200
        buyer.join(timeout=20)
        assert answers, "the purchase waited on the lock for longer than 20 s"
        _assert_unavailable(answers[0])
    # The lock is gone: the same key goes through.
    assert _buy_once_back(shop, product, key).status_code == 201
    assert SandboxCharge.objects.count() == 1


def test_a_database_lost_after_the_charge_leaves_the_payment_to_the_sweeper(server, stocked_product,
                                                                            settings):
    """The success step cannot be recorded (its statement times out on a lock, as on a hung
    database): 503, the charge stands, the payment stays pending with its key claimed, and
    resolve_pending_payments completes both: the retry replays the 201 of the one charge."""
    product = stocked_product(stock=5)
    shop = Shop(server.url)
    database = settings.DATABASES["payments"]
    key = str(uuid.uuid4())
    with psycopg.connect(host=database["HOST"], port=database["PORT"] or 5432, user=database["USER"],
                         dbname=database["NAME"]) as locker:
        # Only the success step writes the outbox (its purchase_completed event).
        locker.execute(sql.SQL("LOCK TABLE {} IN EXCLUSIVE MODE").format(
            sql.Identifier(OutboxEvent._meta.db_table)))
        response = shop.buy(product, key)
    _assert_unavailable(response)
    assert SandboxCharge.objects.count() == 1
    payment = Payment.objects.get()
    assert payment.status == Payment.Status.PENDING
    assert shop.buy(product, key).json()["code"] == "idempotency_key_in_progress"  # not charged again

    settings.IDEMPOTENCY_LOCK_TIMEOUT_SECONDS = 0  # as if the lock had aged
    call_command("resolve_pending_payments", "--older-than", "0")
    replayed = shop.buy(product, key)
    assert replayed.status_code == 201, replayed.text
    assert replayed.headers["Idempotent-Replayed"] == "true"
    assert replayed.json()["id"] == str(payment.id)
    assert SandboxCharge.objects.count() == 1
    assert OutboxEvent.objects.filter(type="payments.purchase_completed").count() == 1
    assert availability(product).on_hand == 4


def _wait_for_a_lock_wait(connection: psycopg.Connection):
    """Until a session of this database waits on a lock (`connection` in autocommit: the
    statistics views hold one snapshot per transaction)."""
    waiting = ("SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock' "
               "AND datname = current_database()")
    wait_until(lambda: connection.execute(waiting).fetchone()[0], "the purchase to wait on the lock",
               timeout=10, interval=0.05)
