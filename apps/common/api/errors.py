"""Typed domain errors. Each carries the contract's `code` and HTTP status, so REST views and the
gRPC layer render them without catching them one by one."""

from django.db import InterfaceError, OperationalError

# A database that refused or dropped the connection, or did not answer in time (connect,
# statement or pool timeout, SQLite busy): the transaction rolled back, nothing was written, and
# the same request may succeed a moment later. Answered as ServiceUnavailable, never as a bug.
DATABASE_UNAVAILABLE = (OperationalError, InterfaceError)


class DomainError(Exception):
    status = 400
    code = "bad_request"
    default_detail = "The request cannot be processed."

    def __init__(self, detail: str | None = None, **extra):
        self.detail = detail or self.default_detail
        self.extra = extra
        super().__init__(self.detail)

    def headers(self) -> dict[str, str]:
        """HTTP headers the REST answer carries (e.g. Retry-After)."""
        return {}


class NotFound(DomainError):
    status = 404
    code = "not_found"
    default_detail = "Not found."


class Conflict(DomainError):
    status = 409
    code = "conflict"
    default_detail = "The request conflicts with the current state."


class ServiceUnavailable(DomainError):
    status = 503
    code = "service_unavailable"
    default_detail = "A service this request needs cannot be reached. Nothing was changed."
    retry_after_seconds = 5  # about a circuit breaker's cool-down: soon enough to find it back

    def headers(self) -> dict[str, str]:
        return {"Retry-After": str(self.retry_after_seconds)}


def database_unavailable(error: Exception) -> ServiceUnavailable:
    """The contract's answer to one of DATABASE_UNAVAILABLE (its text may name hosts: not shown)."""
    return ServiceUnavailable(f"A database this request needs did not answer ({type(error).__name__}). "
                              "Nothing was changed.")
