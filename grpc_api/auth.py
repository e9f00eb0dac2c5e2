"""Service-to-service authentication: a short-lived HS256 token on every call.

The calling process signs `{iss: "shop-services", sub: its SERVICE_NAME, aud: the app it calls,
iat, exp}` with `SERVICE_AUTH_SECRET` and sends it as `authorization: Bearer <token>`; the server
rejects with UNAUTHENTICATED, and one generic message, a call whose token is missing, forged,
expired, from another issuer, meant for another app, or valid for longer than
MAX_TOKEN_LIFETIME_SECONDS (a leaked token is worth a minute or two, never years). Health and
reflection stay open (probes and tooling carry no token). A caller signs a token once per
lifetime and audience and sends it on every call until shortly before it expires.
"""

import time
from collections import namedtuple
from typing import NamedTuple

import grpc
import jwt
from django.conf import settings

ALGORITHM = "HS256"
ISSUER = "shop-services"
TOKEN_LIFETIME_SECONDS = 60
MAX_TOKEN_LIFETIME_SECONDS = 120
# Clocks of two hosts may differ by this much.
LEEWAY_SECONDS = 5
# A cached token is replaced this long before it expires, so a call with retries sent just before
# still arrives in time at a server whose clock runs LEEWAY_SECONDS ahead.
TOKEN_RENEW_BEFORE_SECONDS = 15
OPEN_SERVICES = frozenset({
    "grpc.health.v1.Health",
    "grpc.reflection.v1alpha.ServerReflection",
    "grpc.reflection.v1.ServerReflection",
})


def service_token(audience: str, now: int | None = None) -> str:
    """This process's token for calls to `audience`, signed once and reused until
    TOKEN_RENEW_BEFORE_SECONDS before it expires (not once per call)."""
    now = int(time.time()) if now is None else now
    key = (audience, settings.SERVICE_NAME, settings.SERVICE_AUTH_SECRET)
    cached = _tokens.get(key)
    if cached is not None and cached.issued_at <= now < cached.expires_at - TOKEN_RENEW_BEFORE_SECONDS:
        return cached.token
    expires_at = now + TOKEN_LIFETIME_SECONDS
    claims = {"iss": ISSUER, "sub": settings.SERVICE_NAME, "aud": audience, "iat": now, "exp": expires_at}
    token = jwt.encode(claims, settings.SERVICE_AUTH_SECRET, algorithm=ALGORITHM)
    # Two threads may both sign one at the renewal: either token is valid.
    _tokens[key] = _SignedToken(token, now, expires_at)
    return token


def verify_service_token(token: str, audience: str) -> dict:
    """The token's claims; raises jwt.InvalidTokenError."""
    claims = jwt.decode(
        token, settings.SERVICE_AUTH_SECRET, algorithms=[ALGORITHM], audience=audience, issuer=ISSUER,
        leeway=LEEWAY_SECONDS, options={"require": ["iss", "sub", "aud", "iat", "exp"]},
    )
    if claims["exp"] - claims["iat"] > MAX_TOKEN_LIFETIME_SECONDS:
        raise jwt.InvalidTokenError("The token is valid for too long.")
    return claims


class _SignedToken(NamedTuple):
    token: str
    issued_at: int
    expires_at: int


_tokens: dict[tuple[str, str, str], _SignedToken] = {}

_CALL_DETAILS_FIELDS = ("method", "timeout", "metadata", "credentials", "wait_for_ready", "compression")


class _CallDetails(namedtuple("_CallDetails", _CALL_DETAILS_FIELDS), grpc.ClientCallDetails):
    pass


class ServiceTokenClientInterceptor(grpc.UnaryUnaryClientInterceptor):
    def __init__(self, audience: str):
        self.audience = audience

    def intercept_unary_unary(self, continuation, client_call_details, request):
        metadata = [*(client_call_details.metadata or ()),
                    ("authorization", f"Bearer {service_token(self.audience)}")]
        details = _CallDetails(
            client_call_details.method, client_call_details.timeout, metadata,
            client_call_details.credentials, client_call_details.wait_for_ready,
            client_call_details.compression,
        )
        return continuation(details, request)


def _reject(reason: str):
    def abort(request, context):
        context.abort(grpc.StatusCode.UNAUTHENTICATED, reason)

    return grpc.unary_unary_rpc_method_handler(abort)


class ServiceTokenServerInterceptor(grpc.ServerInterceptor):
    """Checks the token against the app that owns the called service (`/shop.<app>.v1.X/Method`)."""

    def intercept_service(self, continuation, handler_call_details):
        service = handler_call_details.method.split("/")[1]
        if service in OPEN_SERVICES:
            return continuation(handler_call_details)
        header = dict(handler_call_details.invocation_metadata or ()).get("authorization", "")
        scheme, _, token = header.partition(" ")
        if scheme != "Bearer" or not token:
            return _reject("A service token is required.")
        try:
            verify_service_token(token, audience=_app_of(service))
        except jwt.InvalidTokenError:  # which check failed is not the caller's business
            return _reject("Invalid service token.")
        return continuation(handler_call_details)


def _app_of(service: str) -> str:
    """`shop.inventory.v1.Inventory` -> `inventory`: the audience a caller's token must name."""
    parts = service.split(".")
    return parts[1] if len(parts) > 2 and parts[0] == "shop" else service
