"""Typed domain errors. Each carries the contract's `code` and HTTP status, so REST views and the
gRPC layer render them without catching them one by one."""


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
