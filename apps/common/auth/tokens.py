"""Access tokens, verified in every process without calling users.

simplejwt's own backend knows one key; this one signs with the key ring's first key, names it in
the `kid` header, and verifies with whichever public key the `kid` names (see config/jwt_keys.py).
Only RS256 is accepted, so `alg: none` and HS256 tokens (signed with a public key as an HMAC
secret) are rejected, as are tokens with the wrong issuer or audience.
"""

from functools import cache

import jwt
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from rest_framework_simplejwt import tokens
from rest_framework_simplejwt.backends import TokenBackend
from rest_framework_simplejwt.exceptions import TokenBackendError
from rest_framework_simplejwt.settings import api_settings

from config.jwt_keys import JwtKeys


class KeyRingTokenBackend(TokenBackend):
    def __init__(self, keys: JwtKeys, audience: str, issuer: str, leeway=0):
        super().__init__("RS256", keys.signing_pem, keys.first_verifying_pem, audience, issuer,
                         leeway=leeway)
        self.signing_kid = keys.signing_kid
        self.verifying_keys = {kid: self._prepare_key(pem) for kid, pem in keys.verifying_pems.items()}
        # A token without `kid` (signed by simplejwt's own backend, which signs with the same
        # first key) is checked against the first key.
        self.first_kid = next(iter(keys.verifying_pems))

    def encode(self, payload: dict) -> str:
        if self.signing_key is None:
            raise ImproperlyConfigured("JWT_SIGNING_KEY is not set: this process cannot issue tokens.")
        return jwt.encode({**payload, "aud": self.audience, "iss": self.issuer},
                          self.prepared_signing_key, algorithm=self.algorithm,
                          headers={"kid": self.signing_kid})

    def get_verifying_key(self, token):
        kid = jwt.get_unverified_header(token).get("kid", self.first_kid)
        if not isinstance(kid, str) or kid not in self.verifying_keys:
            raise TokenBackendError("Token is signed with an unknown key")
        return self.verifying_keys[kid]


@cache
def token_backend() -> KeyRingTokenBackend:
    return KeyRingTokenBackend(settings.JWT_KEYS, api_settings.AUDIENCE, api_settings.ISSUER,
                               api_settings.LEEWAY)


class KeyRingMixin:
    @property
    def token_backend(self) -> KeyRingTokenBackend:
        return token_backend()


class AccessToken(KeyRingMixin, tokens.AccessToken):
    """Carries `user_id` and `is_staff`: enough for any service to authorize a request."""
