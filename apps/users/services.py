"""Writes of the users app: registration, login, token rotation and revocation, profile changes.

Every write is one transaction on the users database.
"""

import contextlib
import logging
from decimal import Decimal
from uuid import UUID

import jwt
from django.conf import settings
from django.contrib.auth.hashers import make_password
from django.core.mail import EmailMultiAlternatives, get_connection
from django.db import IntegrityError, transaction
from django.template.loader import render_to_string
from django.utils import timezone
from rest_framework_simplejwt.exceptions import TokenError
from rest_framework_simplejwt.settings import api_settings
from rest_framework_simplejwt.token_blacklist.models import BlacklistedToken, OutstandingToken

from apps.common.observability import metrics
from apps.users import login_throttle, selectors
from apps.users.errors import EmailTaken, InvalidCredentials, RefreshTokenReused, TokenInvalid
from apps.users.models import DB, User, normalize_email
from apps.users.tokens import FAMILY_CLAIM, RefreshToken

logger = logging.getLogger(__name__)


def register(*, email: str, password: str, first_name: str = "", last_name: str = "") -> User:
    """The unique email column decides races: of parallel registrations one wins, the rest 409."""
    try:
        with transaction.atomic(using=DB):
            return User.objects.db_manager(DB).create_user(
                email, password, first_name=first_name, last_name=last_name)
    except IntegrityError:
        raise EmailTaken() from None


def check_credentials(email: str, password: str) -> User:
    """The user whose email and password these are, if active. Unknown email, wrong password and
    inactive account give the same error after the same (Argon2) work, so neither the answer nor
    its timing tells which accounts exist. Throttled per email (see login_throttle)."""
    email = normalize_email(email)
    login_throttle.reserve_attempt(email)
    try:
        user = User.objects.using(DB).filter(email=email).first()
        if user is None:
            make_password(password)  # the hashing work a real check would have done
            valid = False
        else:
            valid = user.check_password(password) and user.is_active
    except BaseException:
        login_throttle.release_attempt(email)  # not a failed guess: the check did not finish
        raise
    if not valid:
        raise InvalidCredentials()
    login_throttle.release_attempt(email)
    return user


def log_in(email: str, password: str) -> dict[str, str]:
    user = check_credentials(email, password)
    User.objects.using(DB).filter(pk=user.pk).update(last_login=timezone.now())
    return _token_pair(RefreshToken.for_user(user))


def rotate_refresh_token(raw_refresh: str) -> dict[str, str]:
    """A new token pair for a valid refresh token, which is revoked. The claims are read afresh
    from the user row, so a demoted or deactivated user's refresh stops giving old rights."""
    with _revoking_families_of_reused_tokens(), transaction.atomic(using=DB):
        refresh = _revoke(raw_refresh)
        user = User.objects.using(DB).filter(
            pk=refresh.get(api_settings.USER_ID_CLAIM), is_active=True).first()
        if user is None:
            raise TokenInvalid()
        return _token_pair(RefreshToken.for_user(user, family=refresh.get(FAMILY_CLAIM)))


def log_out(raw_refresh: str, user_id) -> None:
    """Revoke the caller's own refresh token."""
    with _revoking_families_of_reused_tokens(), transaction.atomic(using=DB):
        refresh = _revoke(raw_refresh)
        if refresh.get(api_settings.USER_ID_CLAIM) != str(user_id):
            raise TokenInvalid()


def update_user(user_id: UUID, **fields) -> User:
    with transaction.atomic(using=DB):
        user = selectors.get_user(user_id)
        for name, value in fields.items():
            setattr(user, name, value)
        user.save(using=DB, update_fields=list(fields))  # only these columns are written
        return user


def deactivate_user(user_id: UUID) -> None:
    """The user can no longer log in or refresh; access tokens already issued expire within
    ACCESS_TOKEN_LIFETIME (they are verified without calling users)."""
    update_user(user_id, is_active=False)


def deactivate_users(user_ids) -> int:
    """Deactivate several users at once (the admin's action); returns how many were active."""
    with transaction.atomic(using=DB):
        return User.objects.using(DB).filter(pk__in=user_ids, is_active=True).update(is_active=False)


def _revoke(raw_refresh: str) -> RefreshToken:
    """Validate a refresh token and blacklist it, inside the caller's transaction. The row lock
    makes two concurrent uses of one token serialize, so only the first succeeds."""
    try:
        refresh = RefreshToken(raw_refresh)
    except TokenError:
        raise TokenInvalid() from None
    # order_by("pk"): the model's default ordering joins the user table, which FOR UPDATE refuses.
    outstanding = (OutstandingToken.objects.using(DB).select_for_update()
                   .filter(jti=refresh[api_settings.JTI_CLAIM]).order_by("pk").first())
    if outstanding is None:
        raise TokenInvalid()
    if BlacklistedToken.objects.using(DB).filter(token=outstanding).exists():
        raise RefreshTokenReused(refresh)
    BlacklistedToken.objects.using(DB).create(token=outstanding)
    return refresh


@contextlib.contextmanager
def _revoking_families_of_reused_tokens():
    """Around the transaction that found the reuse (its rollback must not undo the revocation):
    revoke every live token of the reused token's family, count it, answer 401 as for any
    invalid token."""
    try:
        yield
    except RefreshTokenReused as reused:
        family = reused.refresh.get(FAMILY_CLAIM)
        with transaction.atomic(using=DB):
            live = OutstandingToken.objects.using(DB).filter(
                user_id=reused.refresh.get(api_settings.USER_ID_CLAIM), expires_at__gt=timezone.now(),
                blacklistedtoken__isnull=True).order_by("pk")
            BlacklistedToken.objects.using(DB).bulk_create(
                [BlacklistedToken(token=token) for token in live
                 if family is not None and _family_of(token.token) == family],
                ignore_conflicts=True)
        metrics.REFRESH_TOKEN_REUSE.inc()
        raise TokenInvalid() from None


def _family_of(raw_refresh: str) -> str | None:
    """The family claim of a token we issued and stored (its signature was checked when used)."""
    return jwt.decode(raw_refresh, options={"verify_signature": False}).get(FAMILY_CLAIM)


def _token_pair(refresh: RefreshToken) -> dict[str, str]:
    return {"access": str(refresh.access_token), "refresh": str(refresh)}


def send_purchase_receipts(purchases: list[dict]) -> None:
    """E-mail each shopper the receipt of a completed purchase (`payments.purchase_completed` data)."""
    _send_receipts(purchases, subject="Your receipt", refund=False)


def send_refund_receipts(refunds: list[dict]) -> None:
    """E-mail each shopper that a payment was refunded (`payments.refunded` data)."""
    _send_receipts(refunds, subject="Your refund", refund=True)


def _send_receipts(payments: list[dict], *, subject: str, refund: bool) -> None:
    """Plain text and HTML, through Django's e-mail backend (EMAIL_URL; the console by default):
    the shoppers read in one query, the messages sent over one connection. Called by the event
    handler inside the transaction that records the events handled: a send that fails rolls it
    back and the events are retried."""
    # Refund events written before `user_id` was in their data have none.
    user_ids = {data["user_id"] for data in payments if data.get("user_id")}
    users = User.objects.using(DB).in_bulk(user_ids)
    messages, unknown = [], []
    for data in payments:
        user = users.get(UUID(data["user_id"])) if data.get("user_id") else None
        if user is None:
            unknown.append(data["payment_id"])
            continue
        messages.append(_receipt(user, data, subject=subject, refund=refund))
    if unknown:
        logger.warning("no receipt for %d payment(s), their shoppers are unknown here: %s",
                       len(unknown), ", ".join(unknown[:10]))
    if messages:
        get_connection().send_messages(messages)


def _receipt(user: User, data: dict, *, subject: str, refund: bool) -> EmailMultiAlternatives:
    lines = [
        {"name": item.get("name") or item["product_id"], "quantity": item["quantity"],
         "unit_price": item["unit_price"], "total": Decimal(item["unit_price"]) * int(item["quantity"])}
        for item in data.get("items", [])
    ]
    context = {"user": user, "payment_id": data["payment_id"], "lines": lines, "refund": refund,
               "amount": data.get("amount"), "currency": data.get("currency", "")}
    message = EmailMultiAlternatives(
        subject=f"{subject} for payment {data['payment_id']}",
        body=render_to_string("users/email/receipt.txt", context),
        from_email=settings.DEFAULT_FROM_EMAIL, to=[user.email],
    )
    message.attach_alternative(render_to_string("users/email/receipt.html", context), "text/html")
    return message
