"""Idempotency keys with Stripe's semantics, per user, in the payments database: the first
request claims the key, later ones replay its stored response or are refused. The rules,
expiry and takeover of a dead request's key: docs/payments.md.
"""

import hashlib
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import timedelta
from uuid import UUID

from django.conf import settings
from django.core.serializers.json import DjangoJSONEncoder
from django.db import IntegrityError, transaction
from django.utils import timezone

from apps.payments.errors import IdempotencyKeyInProgress, IdempotencyKeyReused
from apps.payments.models import DB, IdempotencyKey, Payment

MAX_KEY_LENGTH = 255


@dataclass(frozen=True)
class StoredResponse:
    status: int
    content: str  # JSON text

    @property
    def body(self) -> dict:
        return json.loads(self.content)


@dataclass(frozen=True)
class Opening:
    """What a request writes with its new claim, in the claim's transaction: the payment it opens
    (bound to the key; `write` inserts it) or, when it failed before opening one, its response."""

    payment: Payment | None = None  # unsaved until `write`
    response: StoredResponse | None = None
    write: Callable[[], None] = field(default=lambda: None)

    def fields(self) -> dict:
        if self.response is None:
            return {"payment": self.payment}
        return {"status": IdempotencyKey.Status.COMPLETED, "response_status": self.response.status,
                "response_body": self.response.content}


def stored(status: int, body: dict) -> StoredResponse:
    return StoredResponse(status=status, content=json.dumps(body, cls=DjangoJSONEncoder))


def request_fingerprint(method: str, path: str, body) -> str:
    """The same request, whatever its key order or whitespace, has the same fingerprint."""
    canonical = json.dumps({"method": method, "path": path, "body": body},
                           sort_keys=True, separators=(",", ":"), cls=DjangoJSONEncoder)
    return hashlib.sha256(canonical.encode()).hexdigest()


def claim(user_id: UUID, key: str, fingerprint: str,
          opening: Opening | None = Opening()) -> IdempotencyKey | StoredResponse | None:
    """Claim `key` for this request, written with its `opening` in one transaction, or answer the
    stored response of the request that had it. A claim that already holds a response (the
    opening's) is answered by the caller; one taken over from a dead request keeps its payment.
    Without an `opening` (the request could not prepare one: the catalogue did not answer) a key
    that exists is answered all the same, and a free one is left free: None.

    Raises IdempotencyKeyReused (another request had the key) or IdempotencyKeyInProgress.
    """
    now = timezone.now()
    fresh = {
        "request_fingerprint": fingerprint, "status": IdempotencyKey.Status.IN_PROGRESS,
        "locked_at": now, "payment": None, "response_status": None, "response_body": "",
        "created_at": now, "expires_at": now + timedelta(seconds=settings.IDEMPOTENCY_KEY_TTL_SECONDS),
    }
    conflict = None
    if opening is not None:
        try:
            # The insert comes first: a key that exists fails it before anything else was written
            # (a concurrent inserter waits for the other's transaction to end first).
            with transaction.atomic(using=DB):
                record = IdempotencyKey.objects.using(DB).create(
                    user_id=user_id, key=key, **{**fresh, **opening.fields()})
                opening.write()
                return record
        except IntegrityError as error:
            conflict = error
    with transaction.atomic(using=DB):
        record = IdempotencyKey.objects.using(DB).select_for_update().filter(user_id=user_id, key=key).first()
        if record is None:
            if conflict is not None:
                raise conflict  # not the key's uniqueness: the opening broke a constraint
            return None
        if record.expires_at <= now:
            return _open(record, fresh, opening)
        if record.request_fingerprint != fingerprint:
            raise IdempotencyKeyReused()
        if record.status == IdempotencyKey.Status.COMPLETED:
            return StoredResponse(status=record.response_status, content=record.response_body)
        if record.locked_at > now - timedelta(seconds=settings.IDEMPOTENCY_LOCK_TIMEOUT_SECONDS):
            raise IdempotencyKeyInProgress()
        # The request that held the key died: this one takes over (and resumes its payment).
        if record.payment_id is None:
            return _open(record, {"locked_at": now}, opening)
        return _update(record, {"locked_at": now})


def take_over(payment) -> IdempotencyKey | None:
    """Claim the key of `payment`, whose request died or gave up, for resolve_pending_payments:
    requests with the key are refused (409) while it settles. None when the key has expired and
    was purged. Raises IdempotencyKeyInProgress while the key's request still runs."""
    now = timezone.now()
    with transaction.atomic(using=DB):
        record = IdempotencyKey.objects.using(DB).select_for_update().filter(payment=payment).first()
        if record is None:
            return None
        if record.locked_at > now - timedelta(seconds=settings.IDEMPOTENCY_LOCK_TIMEOUT_SECONDS):
            raise IdempotencyKeyInProgress()
        return _update(record, {"locked_at": now})


def complete(record: IdempotencyKey, status: int, body: dict) -> StoredResponse:
    """Store the response, inside the transaction that records the request's outcome."""
    if not transaction.get_connection(DB).in_atomic_block:
        raise RuntimeError("complete() must run inside the transaction recording the outcome")
    response = stored(status, body)
    record.status = IdempotencyKey.Status.COMPLETED
    record.response_status = response.status
    record.response_body = response.content
    record.save(using=DB, update_fields=["status", "response_status", "response_body"])
    return response


def forget(record: IdempotencyKey) -> None:
    """Drop a claim whose request changed nothing, so the client may retry with the same key."""
    IdempotencyKey.objects.using(DB).filter(pk=record.pk, status=IdempotencyKey.Status.IN_PROGRESS).delete()


def purge_expired() -> int:
    deleted, _ = IdempotencyKey.objects.using(DB).filter(expires_at__lte=timezone.now()).delete()
    return deleted


def _open(record: IdempotencyKey, fields: dict, opening: Opening | None) -> IdempotencyKey | None:
    """Claim a key that is free again for `opening`; without one it stays as it is."""
    if opening is None:
        return None
    _update(record, {**fields, **opening.fields()})
    opening.write()
    return record


def _update(record: IdempotencyKey, fields: dict) -> IdempotencyKey:
    for name, value in fields.items():
        setattr(record, name, value)
    record.save(using=DB, update_fields=list(fields))
    return record
