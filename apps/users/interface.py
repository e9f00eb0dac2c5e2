"""The users app's public face: the only module other apps import from users."""

from dataclasses import dataclass
from typing import Protocol
from uuid import UUID

from apps.common.registry import implementation
from apps.users.errors import InvalidCredentials, TooManyAttempts, UserNotFound


@dataclass(frozen=True)
class UserInfo:
    id: UUID
    email: str
    first_name: str
    last_name: str
    is_staff: bool
    is_active: bool


class UsersInterface(Protocol):
    """What `local.py` and the gRPC client implement, and the functions below offer: checked
    against all three by `apps.common.registry.drift` (when the registry picks one, and in a test)."""

    def get_user(self, user_id: UUID) -> UserInfo: ...

    def authenticate(self, email: str, password: str) -> UserInfo: ...


# The errors a caller can meet, by class also over gRPC (grpc_api/errors.py).
ERRORS = (UserNotFound, InvalidCredentials, TooManyAttempts)


def get_user(user_id: UUID) -> UserInfo:
    """Raises UserNotFound."""
    return implementation("users").get_user(user_id)


def authenticate(email: str, password: str) -> UserInfo:
    """Check a password (for admin sign-in in processes that do not serve users).

    Raises InvalidCredentials, with the same answer for unknown emails, wrong passwords and
    inactive accounts; TooManyAttempts after too many failures for this email.
    """
    return implementation("users").authenticate(email, password)
