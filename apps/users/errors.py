"""The users app's typed errors, each with its contract `code` and HTTP status. Those a caller of
the interface can meet are re-exported by `interface.py`."""

from apps.common.api.errors import Conflict, DomainError, NotFound


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


class EmailTaken(Conflict):
    code = "email_taken"
    default_detail = "An account with this email already exists."


class TokenInvalid(DomainError):
    status = 401
    code = "token_invalid"
    default_detail = "The token is invalid, expired or revoked."


class RefreshTokenReused(TokenInvalid):
    """A revoked refresh token presented again: whoever holds its successors may be a thief.
    Carries the token (a `tokens.RefreshToken`), whose family the service then revokes."""

    def __init__(self, refresh):
        super().__init__()
        self.refresh = refresh
