"""The users interface other apps call (in process here; over gRPC where users is elsewhere)."""

import uuid

import pytest

from apps.users import interface as users
from tests.support.users import PASSWORD, UserFactory

pytestmark = pytest.mark.django_db(databases=["default", "users"])


def test_get_user(user):
    assert users.get_user(user.id) == users.UserInfo(
        id=user.id, email=user.email, first_name=user.first_name, last_name=user.last_name,
        is_staff=False, is_active=True)


def test_get_user_reports_deactivation():
    assert users.get_user(UserFactory(is_active=False).id).is_active is False


def test_unknown_user():
    with pytest.raises(users.UserNotFound) as caught:
        users.get_user(uuid.uuid4())
    assert (caught.value.status, caught.value.code) == (404, "not_found")


def test_authenticate(user):
    assert users.authenticate(user.email.upper(), PASSWORD).id == user.id


@pytest.mark.parametrize("case", ["unknown", "wrong", "inactive"])
def test_authenticate_refuses_alike(case):
    user = UserFactory(is_active=case != "inactive")
    email = "nobody@example.com" if case == "unknown" else user.email
    with pytest.raises(users.InvalidCredentials) as caught:
        users.authenticate(email, "wrong-Password-1" if case == "wrong" else PASSWORD)
    assert str(caught.value) == users.InvalidCredentials.default_detail


def test_authenticate_is_throttled(user):
    for _ in range(5):
        with pytest.raises(users.InvalidCredentials):
            users.authenticate(user.email, "wrong-Password-1")
    with pytest.raises(users.TooManyAttempts) as caught:
        users.authenticate(user.email, PASSWORD)
    assert caught.value.code == "too_many_attempts" and caught.value.retry_after > 0
