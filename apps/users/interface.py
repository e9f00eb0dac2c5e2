"""The users app's public face: the only module other apps import from users."""

from dataclasses import dataclass
from uuid import UUID

from apps.common.errors import DomainError, NotFound
from apps.common.registry import implementation


@dataclass(frozen=True)
class UserInfo:
    id: UUID
    email: str
    first_name: str
    last_name: str
    is_staff: bool
    is_active: bool


class UserNotFound(NotFound):
    default_detail = "No such user."


class InvalidCredentials(DomainError):
    status = 401
    code = "invalid_credentials"
    default_detail = "Email or password is wrong, or the account is inactive."


def get_user(user_id: UUID) -> UserInfo:
    """Raises UserNotFound."""
    return implementation("users").get_user(user_id)


def authenticate(email: str, password: str) -> UserInfo:
    """Check a password (for admin sign-in in processes that do not serve users).

    Raises InvalidCredentials, with the same answer for unknown emails, wrong passwords and
    inactive accounts.
    """
    return implementation("users").authenticate(email, password)
