"""A small HTTP client for the public API, as any shopper or operator would use it."""

import time
import uuid

import requests

PASSWORD = "correct-Horse-battery-9"
VISA = "tok_visa"  # the sandbox provider's card that always succeeds


class Api:
    def __init__(self, base_url: str, access: str | None = None):
        self.base_url = base_url
        self.session = requests.Session()
        if access:
            self.session.headers["Authorization"] = f"Bearer {access}"

    def request(self, method: str, path: str, **kwargs) -> requests.Response:
        return self.session.request(method, f"{self.base_url}/api/v1{path}", timeout=30, **kwargs)

    def get(self, path, **kwargs):
        return self.request("GET", path, **kwargs)

    def post(self, path, body=None, **kwargs):
        return self.request("POST", path, json=body, **kwargs)

    def signed_in(self, email: str, password: str = PASSWORD) -> "Api":
        response = self.post("/auth/token", {"email": email, "password": password})
        assert response.status_code == 200, response.text
        return Api(self.base_url, response.json()["access"])

    def register(self, password: str = PASSWORD) -> str:
        email = f"shopper-{uuid.uuid4().hex[:10]}@example.com"
        response = self.post("/auth/register", {"email": email, "password": password, "first_name": "Ada"})
        assert response.status_code == 201, response.text
        return email

    def purchase(self, lines, *, key: str | None = None, token: str = VISA) -> requests.Response:
        items = [{"product_id": product_id, "quantity": quantity} for product_id, quantity in lines]
        return self.post("/payments", {"items": items, "payment_method": {"token": token}},
                         headers={"Idempotency-Key": key or str(uuid.uuid4())})


def assert_problem(response: requests.Response, status: int, code: str) -> dict:
    assert response.status_code == status, response.text
    assert response.headers["Content-Type"].startswith("application/problem+json")
    body = response.json()
    assert (body["status"], body["code"]) == (status, code)
    assert body["detail"]
    return body


def eventually(probe, what: str, timeout: float = 60.0):
    """Poll `probe` until it returns something truthy (events are applied within seconds)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        value = probe()
        if value:
            return value
        time.sleep(0.25)
    raise AssertionError(f"timed out after {timeout}s waiting for {what}")
