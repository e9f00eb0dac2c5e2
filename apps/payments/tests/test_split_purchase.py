"""The purchase of a payments-only process: products and inventory answer over real gRPC on
loopback, and the purchase waits for one round trip before charging, not two in a row; the
service token is signed once per lifetime, not per call."""

import time
import uuid

import grpc
import jwt
import pytest

from apps.common import registry
from apps.inventory import interface as inventory
from apps.payments import services as payments
from grpc_api import auth
from grpc_api.server import GRPC_APPS
from tests.support.clients import client_for
from tests.support.purchases import create_stocked_product

# The server process reads what the test committed; the payments process is this one.
split_db = pytest.mark.django_db(databases=["default", *GRPC_APPS, "payments"], transaction=True)


class CallRecorder(grpc.UnaryUnaryClientInterceptor):
    """Outermost on a client's channel: when each call was sent, and when a caller got its answer."""

    def __init__(self, events: list):
        self.events = events

    def intercept_unary_unary(self, continuation, client_call_details, request):
        method = client_call_details.method.rsplit("/", 1)[1]
        self.events.append(("sent", method))
        outcome = continuation(client_call_details, request)
        outcome.add_done_callback(lambda call: self.events.append(("answered", method)))
        return outcome


@pytest.fixture
def split_process(settings, grpc_server):
    """This process as payments alone; the others behind `grpc_server`. Returns the calls made."""
    settings.SERVICE_APPS = ("payments",)
    settings.GRPC_TARGETS = {**settings.GRPC_TARGETS, "users": grpc_server.address,
                             "products": grpc_server.address, "inventory": grpc_server.address}
    registry.implementation.cache_clear()
    events = []
    for app in ("products", "inventory"):
        client = registry.implementation(app)
        channel = client._channel  # the real channel, interceptors and all; recorded from outside
        client._channel = lambda channel=channel: grpc.intercept_channel(channel(), CallRecorder(events))
    yield events
    registry.implementation.cache_clear()


def _product(*, stock: int, status: str = "active") -> uuid.UUID:
    return create_stocked_product(client_for(is_staff=True), "4.00", stock=stock, status=status)


# Made in process, before (fixtures in argument order) this process becomes payments alone.
@pytest.fixture
def on_sale():
    return _product(stock=5)


@pytest.fixture
def withdrawn():
    return _product(stock=5, status="inactive")


def _purchase(product_id: uuid.UUID, quantity: int):
    return payments.purchase(
        user_id=uuid.uuid4(), idempotency_key=str(uuid.uuid4()), fingerprint="f",
        lines=[payments.PurchaseLine(product_id, quantity)], token="tok_visa",
        render=lambda payment: {"id": str(payment.id), "status": payment.status},
    ).response


@split_db
class TestSplitPurchase:
    def test_reserving_does_not_wait_for_pricing(self, on_sale, split_process):
        response = _purchase(on_sale, 2)

        assert response.status == 201, response.body
        sent = [method for event, method in split_process if event == "sent"]
        assert sent == ["Reserve", "GetProducts"]  # two calls, nothing else before the charge
        # Reserve was on the wire before pricing answered: one round trip on the critical path.
        assert split_process.index(("sent", "Reserve")) < split_process.index(("answered", "GetProducts"))
        stock = inventory.get_availability([on_sale])[on_sale]
        assert (stock.reserved, stock.available) == (2, 3)

    def test_lines_priced_as_invalid_give_their_reserved_units_back(self, withdrawn, split_process):
        response = _purchase(withdrawn, 2)

        assert response.status == 400 and response.body["code"] == "invalid_product"
        # The reservation made while pricing is given back once Reserve has answered.
        assert [method for event, method in split_process if event == "sent"] == [
            "Reserve", "GetProducts", "Release"]
        stock = inventory.get_availability([withdrawn])[withdrawn]
        assert (stock.reserved, stock.available) == (0, 5)


@pytest.fixture
def signatures(monkeypatch, settings):
    """Service tokens signed, under a caller name of this test alone (nothing cached for it yet)."""
    settings.SERVICE_NAME = f"token-cache-{uuid.uuid4().hex[:8]}"
    signed = []

    def encode(payload, *args, **kwargs):
        signed.append(payload)
        return jwt.api_jwt.encode(payload, *args, **kwargs)

    monkeypatch.setattr(auth.jwt, "encode", encode)
    return signed


def test_a_token_is_reused_until_shortly_before_it_expires(signatures):
    start = int(time.time())
    first = auth.service_token("inventory", now=start)
    renew_at = start + auth.TOKEN_LIFETIME_SECONDS - auth.TOKEN_RENEW_BEFORE_SECONDS
    assert auth.service_token("inventory", now=renew_at - 1) == first
    assert auth.service_token("products", now=start) != first  # one per audience
    renewed = auth.service_token("inventory", now=renew_at)
    assert renewed != first
    assert [claims["aud"] for claims in signatures] == ["inventory", "products", "inventory"]


@split_db
def test_calls_share_one_token_the_server_accepts_until_it_is_renewed(signatures, split_process):
    # The oldest token the cache still hands out: the server must accept it.
    oldest = int(time.time()) - (auth.TOKEN_LIFETIME_SECONDS - auth.TOKEN_RENEW_BEFORE_SECONDS) + 2
    auth.service_token("inventory", now=oldest)
    for _ in range(5):
        inventory.get_availability([uuid.uuid4()])  # UNAUTHENTICATED would raise
    assert len(signatures) == 1 and signatures[0]["iat"] == oldest
