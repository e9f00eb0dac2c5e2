"""A small HTTP client for the public API of a running server, as any shopper or operator would
use it (the end-to-end, drill and browser tests; in-process tests use DRF's APIClient)."""

import uuid

import requests

from tests.support.purchases import VISA, purchase_body
from tests.support.users import PASSWORD


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

    def expect(self, method: str, path: str, status: int = 200, **kwargs):
        """The JSON body of a call that must answer `status`."""
        response = self.request(method, path, **kwargs)
        assert response.status_code == status, (method, path, response.status_code, response.text)
        return response.json()

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
        return self.post("/payments", purchase_body(lines, token),
                         headers={"Idempotency-Key": key or str(uuid.uuid4())})
