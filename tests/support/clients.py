"""In-process API clients (DRF's APIClient) acting as a shopper or staff member. No user row is
needed: services trust the signed token, as they do in production."""

import uuid

from rest_framework.test import APIClient

from tests.support.users import authorization


def client_for(user_id: uuid.UUID | None = None, *, is_staff: bool = False,
               email: str | None = None) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=authorization(user_id or uuid.uuid4(), is_staff=is_staff,
                                                         email=email))
    return client
