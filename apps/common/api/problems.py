"""RFC 9457 problem details for every error the API answers."""

import logging
from http import HTTPStatus

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.http import Http404, JsonResponse
from rest_framework import exceptions
from rest_framework_simplejwt.exceptions import AuthenticationFailed as TokenAuthenticationFailed

from apps.common.api.errors import DATABASE_UNAVAILABLE, DomainError, database_unavailable

logger = logging.getLogger(__name__)

PROBLEM_CONTENT_TYPE = "application/problem+json"

# DRF's own exception codes renamed to the contract's where they differ.
_DRF_CODES = {
    # A bad, expired or forged access token, or a malformed Authorization header.
    TokenAuthenticationFailed: "token_invalid",
    exceptions.ValidationError: "validation_error",
    exceptions.ParseError: "malformed_request",
    exceptions.NotAuthenticated: "not_authenticated",
    exceptions.AuthenticationFailed: "authentication_failed",
    exceptions.PermissionDenied: "permission_denied",
    exceptions.NotFound: "not_found",
    exceptions.MethodNotAllowed: "method_not_allowed",
    exceptions.NotAcceptable: "not_acceptable",
    exceptions.UnsupportedMediaType: "unsupported_media_type",
    exceptions.Throttled: "rate_limited",
}


def problem_body(status_code: int, code: str, detail: str, **extra) -> dict:
    return {"type": "about:blank", "title": _title(status_code), "status": status_code,
            "code": code, "detail": detail, **extra}


def problem_response(status_code: int, code: str, detail: str, headers=None, **extra) -> JsonResponse:
    """Always JSON, whatever renderer the view negotiated (the schema view speaks YAML)."""
    return JsonResponse(problem_body(status_code, code, detail, **extra), status=status_code,
                        headers=headers, content_type=PROBLEM_CONTENT_TYPE)


def as_domain_error(exc: Exception) -> Exception:
    """A database that did not answer as the contract's ServiceUnavailable (logged here: its text
    may name hosts, so the answer does not show it); any other exception as it is."""
    if isinstance(exc, DATABASE_UNAVAILABLE):
        logger.warning("database unavailable: %s: %s", type(exc).__name__, str(exc).strip()[:300])
        return database_unavailable(exc)
    return exc


def problem_exception_handler(exc, context):
    exc = as_domain_error(exc)
    if isinstance(exc, DomainError):
        return problem_response(exc.status, exc.code, exc.detail, headers=exc.headers(), **exc.extra)
    if isinstance(exc, Http404):
        exc = exceptions.NotFound()
    elif isinstance(exc, DjangoPermissionDenied):
        exc = exceptions.PermissionDenied()
    if not isinstance(exc, exceptions.APIException):
        return None  # a real bug: Django's 500 handler answers with a problem body

    headers = {}
    if getattr(exc, "auth_header", None):
        headers["WWW-Authenticate"] = exc.auth_header
    if getattr(exc, "wait", None):
        headers["Retry-After"] = str(int(exc.wait))

    if isinstance(exc, exceptions.ValidationError):
        return problem_response(exc.status_code, "validation_error", "Invalid input.",
                                headers=headers, errors=_field_errors(exc.detail))
    code = _code_for(exc)
    return problem_response(exc.status_code, code, _flatten(exc.detail), headers=headers)


def _code_for(exc) -> str:
    for exc_class in type(exc).__mro__:
        if exc_class in _DRF_CODES:
            return _DRF_CODES[exc_class]
    detail_code = getattr(exc.detail, "code", None)
    return detail_code or exc.default_code


def _field_errors(detail) -> dict:
    if isinstance(detail, dict):
        return {field: _messages(value) for field, value in detail.items()}
    return {"non_field_errors": _messages(detail)}


def _messages(value) -> list:
    if isinstance(value, dict):
        # Nested serializer: keep the structure, it names the sub-fields.
        return [{key: _messages(inner) for key, inner in value.items()}]
    if isinstance(value, list):
        flat = []
        for item in value:
            flat.extend(_messages(item) if isinstance(item, (list, dict)) else [str(item)])
        return flat
    return [str(value)]


def _flatten(detail) -> str:
    if isinstance(detail, dict):
        detail = detail.get("detail", next(iter(detail.values()), ""))
    if isinstance(detail, list):
        detail = detail[0] if detail else ""
    return str(detail)


def _title(status_code: int) -> str:
    try:
        return HTTPStatus(status_code).phrase
    except ValueError:
        return "Error"
