"""A local Stripe for the tests: a real HTTP server answering the calls our provider makes with
the recorded answers of `stripe_fixtures/`, behaving as Stripe's test mode does for its test
payment methods. The real SDK talks to it through `STRIPE_API_BASE`.

Like Stripe it replays the stored answer of a POST whose `Idempotency-Key` it has seen (409 while
that first request still runs). Payment
methods: `pm_card_visa` succeeds, `pm_card_chargeDeclined` is declined,
`pm_card_threeDSecure2Required` needs 3-D Secure; and two of ours: `pm_card_timeout` charges but
answers too late, `pm_card_internalError` answers 500.
"""

import copy
import json
import threading
import time
import uuid
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qsl, urlsplit

FIXTURES = Path(__file__).parent / "stripe_fixtures"
LATE_SECONDS = 1.5  # longer than the tests' STRIPE_TIMEOUT_SECONDS


def fixture(name: str) -> dict:
    """The answer of `stripe_fixtures/<name>.json`, without its `_source` (where its shape comes from)."""
    document = json.loads((FIXTURES / f"{name}.json").read_text())
    del document["_source"]
    return document


@dataclass
class Call:
    method: str
    path: str
    params: dict
    idempotency_key: str | None


@dataclass
class FakeStripe:
    url: str = ""
    calls: list[Call] = field(default_factory=list)
    intents: dict[str, dict] = field(default_factory=dict)
    answered: dict[str, tuple[int, dict] | None] = field(default_factory=dict)  # None: running
    # Stripe's search index lags behind: it holds each intent as it was created.
    indexed: dict[str, dict] = field(default_factory=dict)

    def posts(self, path: str) -> list[Call]:
        return [call for call in self.calls if call.method == "POST" and call.path == path]

    def answer(self, method: str, path: str, params: dict, key: str | None) -> tuple[int, dict]:
        self.calls.append(Call(method, path, params, key))
        if method == "POST" and key in self.answered:
            return self.answered[key] or (409, fixture("idempotency_in_progress"))
        if method == "POST" and key:
            self.answered[key] = None
        status, body = self._route(method, path, params)
        if method == "POST" and key:
            self.answered[key] = (status, body)
        return status, body

    def _route(self, method: str, path: str, params: dict) -> tuple[int, dict]:
        if (method, path) == ("POST", "/v1/payment_intents"):
            return self._create_intent(params)
        if (method, path) == ("GET", "/v1/payment_intents/search"):
            payment_id = params["query"].split("'")[-2]
            found = [intent for intent in self.indexed.values()
                     if intent["metadata"].get("payment_id") == payment_id]
            return 200, {**fixture("search_result"), "data": found}
        if (method, path) == ("POST", "/v1/refunds"):
            intent = self.intents[params["payment_intent"]]
            if intent["amount_received"] == 0:
                return 400, fixture("charge_already_refunded")
            refund = {**fixture("refund"), "id": f"re_{uuid.uuid4().hex[:24]}",
                      "amount": int(params["amount"]), "currency": intent["currency"],
                      "payment_intent": intent["id"]}
            intent["amount_received"] = 0
            return 200, refund
        intent_id = path.removeprefix("/v1/payment_intents/").removesuffix("/cancel")
        if intent_id in self.intents:
            if path.endswith("/cancel"):
                if self.intents[intent_id]["status"] == "succeeded":
                    return 400, fixture("payment_intent_unexpected_state")
                self.intents[intent_id].update(status="canceled", cancellation_reason="abandoned")
            return 200, self.intents[intent_id]
        return 404, {"error": {"type": "invalid_request_error", "code": "resource_missing",
                               "message": f"No such resource: {path}"}}

    def _create_intent(self, params: dict) -> tuple[int, dict]:
        method = params["payment_method"]
        if method == "pm_card_internalError":
            return 500, fixture("api_error")
        intent = copy.deepcopy(fixture("payment_intent"))
        intent_id = f"pi_{uuid.uuid4().hex[:24]}"
        intent.update(
            id=intent_id, amount=int(params["amount"]), amount_received=int(params["amount"]),
            currency=params["currency"], payment_method=method, client_secret=f"{intent_id}_secret_test",
            metadata={key[len("metadata["):-1]: value for key, value in params.items()
                      if key.startswith("metadata[")},
        )
        if method == "pm_card_chargeDeclined":
            intent.update(status="requires_payment_method", amount_received=0)
            self._store(intent)
            declined = fixture("card_declined")
            declined["error"]["payment_intent"] = intent
            return 402, declined
        if method == "pm_card_threeDSecure2Required":
            intent.update(status="requires_action", amount_received=0, next_action=fixture("next_action_3ds"))
        if method == "pm_card_timeout":
            time.sleep(LATE_SECONDS)
        self._store(intent)
        return 200, intent

    def _store(self, intent: dict) -> None:
        self.intents[intent["id"]] = intent
        self.indexed[intent["id"]] = copy.deepcopy(intent)


def _handler(stripe: FakeStripe):
    class Handler(BaseHTTPRequestHandler):
        def _serve(self):
            url = urlsplit(self.path)
            body = self.rfile.read(int(self.headers.get("Content-Length") or 0)).decode()
            params = dict(parse_qsl(body or url.query))
            key = self.headers.get("Idempotency-Key")
            status, answer = stripe.answer(self.command, url.path, params, key)
            payload = json.dumps(answer).encode()
            try:
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(payload)))
                self.send_header("Request-Id", f"req_{uuid.uuid4().hex[:14]}")
                self.end_headers()
                self.wfile.write(payload)
            except (BrokenPipeError, ConnectionResetError):
                pass  # the client gave up waiting (the timeout case)

        do_GET = do_POST = do_DELETE = _serve

        def log_message(self, *args):
            pass

    return Handler


def serve() -> tuple[FakeStripe, ThreadingHTTPServer]:
    """Start a FakeStripe on a free loopback port; the caller shuts the server down."""
    stripe = FakeStripe()
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler(stripe))
    server.daemon_threads = True
    stripe.url = f"http://127.0.0.1:{server.server_address[1]}"
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return stripe, server
