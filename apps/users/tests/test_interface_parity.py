"""Contract parity: the same interface cases against `apps.users.local` (in-process) and against
`grpc_api.clients.users.Client` talking to a real `manage.py grpcserve`."""

from uuid import uuid4

import pytest

from apps.users import services as user_services
from apps.users.interface import InvalidCredentials, TooManyAttempts, UserInfo, UserNotFound
from tests.support.grpc import grpc_db

pytestmark = grpc_db

PASSWORD = "correct horse battery staple"


class TestUsers:
    def test_get_user(self, users_api):
        user = user_services.register(email="ada@example.com", password=PASSWORD, first_name="Ada",
                                      last_name="Lovelace")
        assert users_api.get_user(user.id) == UserInfo(
            id=user.id, email="ada@example.com", first_name="Ada", last_name="Lovelace",
            is_staff=False, is_active=True,
        )

    def test_unknown_user(self, users_api):
        with pytest.raises(UserNotFound) as raised:
            users_api.get_user(uuid4())
        assert (raised.value.status, raised.value.code) == (404, "not_found")

    def test_authenticate(self, users_api):
        user = user_services.register(email="grace@example.com", password=PASSWORD)
        assert users_api.authenticate("grace@example.com", PASSWORD).id == user.id

    @pytest.mark.parametrize("email, password", [
        ("grace@example.com", "wrong password"),
        ("nobody@example.com", PASSWORD),
    ])
    def test_wrong_credentials(self, users_api, email, password):
        user_services.register(email="grace@example.com", password=PASSWORD)
        with pytest.raises(InvalidCredentials) as raised:
            users_api.authenticate(email, password)
        assert (raised.value.status, raised.value.code) == (401, "invalid_credentials")

    def test_inactive_account_cannot_authenticate(self, users_api):
        user = user_services.register(email="grace@example.com", password=PASSWORD)
        user_services.deactivate_user(user.id)
        with pytest.raises(InvalidCredentials):
            users_api.authenticate("grace@example.com", PASSWORD)

    def test_too_many_failures_are_refused_with_retry_after(self, users_api, settings):
        user_services.register(email="grace@example.com", password=PASSWORD)
        for _ in range(settings.LOGIN_MAX_FAILURES):
            with pytest.raises(InvalidCredentials):
                users_api.authenticate("grace@example.com", "wrong password")
        with pytest.raises(TooManyAttempts) as raised:
            users_api.authenticate("grace@example.com", PASSWORD)
        assert (raised.value.status, raised.value.code) == (429, "too_many_attempts")
        assert 0 < raised.value.retry_after <= settings.LOGIN_FAILURE_WINDOW_SECONDS
        assert raised.value.headers() == {"Retry-After": str(raised.value.retry_after)}
