"""The users app's public face: the only module other apps import from users."""

from dataclasses import dataclass
from uuid import UUID

from apps.common.api.errors import DomainError, NotFound
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


class TooManyAttempts(DomainError):
    status = 429
    code = "too_many_attempts"
    default_detail = "Too many failed logins for this email. Try again later."

    def __init__(self, retry_after: int):
        super().__init__(retry_after=retry_after)
        self.retry_after = retry_after

    def headers(self) -> dict[str, str]:
        return {"Retry-After": str(self.retry_after)}


def get_user(user_id: UUID) -> UserInfo:
    """Raises UserNotFound."""
    return implementation("users").get_user(user_id)


def authenticate(email: str, password: str) -> UserInfo:
    """Check a password (for admin sign-in in processes that do not serve users).

    Raises InvalidCredentials, with the same answer for unknown emails, wrong passwords and
    inactive accounts; TooManyAttempts after too many failures for this email.
    """
    return implementation("users").authenticate(email, password)
