"""Users and tokens for any app's tests (tests import this, never users' internals).

`UserFactory` writes to the users database, so a test using it names it:
`django_db(databases=["default", "users"])` (Django sets up `default` first, always).
`access_token` needs no database: it signs a token for any id, as the users app would, so
other apps' tests can act as a shopper or staff.
"""

import uuid

import factory

from apps.common.auth.tokens import AccessToken
from apps.users.models import User

PASSWORD = "correct-Horse-battery-9"


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User
        database = "users"  # factory_boy names a database itself, bypassing the router
        skip_postgeneration_save = True

    email = factory.Sequence(lambda n: f"user{n}@example.com")
    first_name = factory.Faker("first_name")
    last_name = factory.Faker("last_name")
    password = factory.django.Password(PASSWORD)


class StaffFactory(UserFactory):
    is_staff = True


def access_token(user_id=None, *, is_staff: bool = False, email: str | None = None) -> str:
    token = AccessToken()
    token["user_id"] = str(user_id or uuid.uuid4())
    token["is_staff"] = is_staff
    token["email"] = email or f"user-{token['user_id']}@example.com"
    return str(token)


def authorization(user_id=None, *, is_staff: bool = False, email: str | None = None) -> str:
    """An `Authorization` header value; no user row is needed (services trust the token)."""
    return f"Bearer {access_token(user_id, is_staff=is_staff, email=email)}"


def bearer(user=None, *, user_id=None, is_staff: bool = False) -> dict[str, str]:
    """Headers for the test client: `client.get(url, headers=bearer(user))`."""
    email = None
    if user is not None:
        user_id, is_staff, email = user.id, user.is_staff, user.email
    return {"Authorization": authorization(user_id, is_staff=is_staff, email=email)}
