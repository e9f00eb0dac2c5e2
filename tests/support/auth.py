"""Access tokens for tests, minted the way the users service signs them (no user row needed)."""

import uuid

from rest_framework_simplejwt.tokens import AccessToken


def bearer(*, is_staff: bool = False, user_id: uuid.UUID | None = None) -> str:
    """An `Authorization` header value for a shopper, or for staff with `is_staff=True`."""
    token = AccessToken()
    token["user_id"] = str(user_id or uuid.uuid4())
    token["is_staff"] = is_staff
    return f"Bearer {token}"
