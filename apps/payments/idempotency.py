"""Idempotency keys with Stripe's semantics, per user, in the payments database: the first
request claims the key, later ones replay its stored response or are refused. The rules,
expiry and takeover of a dead request's key: docs/payments.md.
"""

import hashlib
import json
from dataclasses import dataclass
from datetime import timedelta
from uuid import UUID

from django.conf import settings
from django.core.serializers.json import DjangoJSONEncoder
from django.db import IntegrityError, transaction
from django.utils import timezone

from apps.payments.errors import IdempotencyKeyInProgress, IdempotencyKeyReused
from apps.payments.models import IdempotencyKey

DB = "payments"
MAX_KEY_LENGTH = 255


@dataclass(frozen=True)
class StoredResponse:
    status: int
    content: str  # JSON text

    @property
    def body(self) -> dict:
        return json.loads(self.content)


def request_fingerprint(method: str, path: str, body) -> str:
    """The same request, whatever its key order or whitespace, has the same fingerprint."""
    canonical = json.dumps({"method": method, "path": path, "body": body},
                           sort_keys=True, separators=(",", ":"), cls=DjangoJSONEncoder)
    return hashlib.sha256(canonical.encode()).hexdigest()


def claim(user_id: UUID, key: str, fingerprint: str) -> IdempotencyKey | StoredResponse:
    """Claim `key` for this request, or answer the stored response of the request that had it.

    Raises IdempotencyKeyReused (another request had the key) or IdempotencyKeyInProgress.
    """
    now = timezone.now()
    fresh = {
        "request_fingerprint": fingerprint, "status": IdempotencyKey.Status.IN_PROGRESS,
        "locked_at": now, "payment": None, "response_status": None, "response_body": "",
        "created_at": now, "expires_at": now + timedelta(seconds=settings.IDEMPOTENCY_KEY_TTL_SECONDS),
    }
    with transaction.atomic(using=DB):
        try:
            with transaction.atomic(using=DB):
                return IdempotencyKey.objects.using(DB).create(user_id=user_id, key=key, **fresh)
        except IntegrityError:
            pass  # the key exists: a concurrent inserter waited for it to commit first
        record = IdempotencyKey.objects.using(DB).select_for_update().get(user_id=user_id, key=key)
        if record.expires_at <= now:
            return _update(record, fresh)
        if record.request_fingerprint != fingerprint:
            raise IdempotencyKeyReused()
        if record.status == IdempotencyKey.Status.COMPLETED:
            return StoredResponse(status=record.response_status, content=record.response_body)
        if record.locked_at > now - timedelta(seconds=settings.IDEMPOTENCY_LOCK_TIMEOUT_SECONDS):
            raise IdempotencyKeyInProgress()
        # The request that held the key died: this one takes over (and resumes its payment).
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


def bind_payment(record: IdempotencyKey, payment) -> None:
    """Remember which payment the key's request opened, inside the transaction creating it."""
    record.payment = payment
    record.save(using=DB, update_fields=["payment"])


def complete(record: IdempotencyKey, status: int, body: dict) -> StoredResponse:
    """Store the response, inside the transaction that records the request's outcome."""
    if not transaction.get_connection(DB).in_atomic_block:
        raise RuntimeError("complete() must run inside the transaction recording the outcome")
    stored = StoredResponse(status=status, content=json.dumps(body, cls=DjangoJSONEncoder))
    record.status = IdempotencyKey.Status.COMPLETED
    record.response_status = stored.status
    record.response_body = stored.content
    record.save(using=DB, update_fields=["status", "response_status", "response_body"])
    return stored


def forget(record: IdempotencyKey) -> None:
    """Drop a claim whose request changed nothing, so the client may retry with the same key."""
    IdempotencyKey.objects.using(DB).filter(pk=record.pk, status=IdempotencyKey.Status.IN_PROGRESS).delete()


def purge_expired() -> int:
    deleted, _ = IdempotencyKey.objects.using(DB).filter(expires_at__lte=timezone.now()).delete()
    return deleted


def _update(record: IdempotencyKey, fields: dict) -> IdempotencyKey:
    for name, value in fields.items():
        setattr(record, name, value)
    record.save(using=DB, update_fields=list(fields))
    return record
