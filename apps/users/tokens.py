"""Refresh tokens: issued and rotated only by users, revocable through simplejwt's blacklist."""

from rest_framework_simplejwt import tokens
from rest_framework_simplejwt.settings import api_settings
from rest_framework_simplejwt.token_blacklist.models import OutstandingToken
from rest_framework_simplejwt.utils import datetime_from_epoch

from apps.common.auth.tokens import AccessToken, KeyRingMixin

FAMILY_CLAIM = "family"


class RefreshToken(KeyRingMixin, tokens.RefreshToken):
    access_token_class = AccessToken

    def check_blacklist(self) -> None:
        """Not when the token is read: services._revoke checks the blacklist under the token's
        row lock, and tells a revoked token presented again (reuse) from a forged one."""

    @classmethod
    def for_user(cls, user, family: str | None = None) -> "RefreshToken":
        """A new refresh token (and, through `.access_token`, its access token) with the claims
        other services authorize on, recorded as outstanding so it can be revoked. `family` is the
        rotation chain it continues (a login starts a new one, named after its first token)."""
        token = cls()
        token[FAMILY_CLAIM] = family or token[api_settings.JTI_CLAIM]
        token[api_settings.USER_ID_CLAIM] = str(user.pk)
        token["is_staff"] = user.is_staff
        token["email"] = user.email  # so payments records its customer without calling users
        OutstandingToken.objects.create(
            user=user, jti=token[api_settings.JTI_CLAIM], token=str(token),
            created_at=token.current_time, expires_at=datetime_from_epoch(token["exp"]),
        )
        return token
