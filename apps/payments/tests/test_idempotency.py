"""The idempotency key store on its own: claims, replays, conflicts, expiry, takeover, purge."""

import uuid
from datetime import timedelta

import pytest
from django.core.management import call_command
from django.db import transaction
from django.utils import timezone

from apps.payments import idempotency
from apps.payments.errors import IdempotencyKeyInProgress, IdempotencyKeyReused
from apps.payments.models import IdempotencyKey
from apps.payments.tasks import purge_expired_idempotency_keys

pytestmark = pytest.mark.django_db(databases=["payments"])

USER = uuid.uuid4()
BODY = {"items": [{"product_id": str(uuid.uuid4()), "quantity": 1}], "payment_method": {"token": "tok_visa"}}


def _fingerprint(body=BODY):
    return idempotency.request_fingerprint("POST", "/api/v1/payments", body)


def _complete(record, status=201, body=None):
    with transaction.atomic(using="payments"):
        return idempotency.complete(record, status, body or {"id": "p1"})


def test_the_fingerprint_ignores_key_order_but_not_values():
    reordered = {"payment_method": BODY["payment_method"], "items": BODY["items"]}
    assert _fingerprint(reordered) == _fingerprint()
    assert _fingerprint({**BODY, "payment_method": {"token": "tok_other"}}) != _fingerprint()
    assert idempotency.request_fingerprint("POST", "/api/v1/other", BODY) != _fingerprint()


def test_first_claim_wins_and_a_second_one_is_in_progress():
    record = idempotency.claim(USER, "key-1", _fingerprint())
    assert isinstance(record, IdempotencyKey)
    with pytest.raises(IdempotencyKeyInProgress):
        idempotency.claim(USER, "key-1", _fingerprint())


def test_a_completed_key_replays_its_response():
    _complete(idempotency.claim(USER, "key-1", _fingerprint()), 402, {"code": "payment_declined"})
    replay = idempotency.claim(USER, "key-1", _fingerprint())
    assert (replay.status, replay.body) == (402, {"code": "payment_declined"})


def test_another_request_with_the_key_is_refused_even_while_in_progress():
    idempotency.claim(USER, "key-1", _fingerprint())
    with pytest.raises(IdempotencyKeyReused):
        idempotency.claim(USER, "key-1", _fingerprint({**BODY, "items": []}))


def test_keys_are_scoped_to_their_user():
    idempotency.claim(USER, "key-1", _fingerprint())
    assert isinstance(idempotency.claim(uuid.uuid4(), "key-1", _fingerprint()), IdempotencyKey)


@pytest.mark.django_db(databases=["payments"], transaction=True)
def test_complete_outside_a_transaction_is_a_bug():
    record = idempotency.claim(USER, "key-1", _fingerprint())
    with pytest.raises(RuntimeError, match="inside the transaction"):
        idempotency.complete(record, 201, {})


def test_a_forgotten_key_can_be_claimed_again():
    idempotency.forget(idempotency.claim(USER, "key-1", _fingerprint()))
    assert isinstance(idempotency.claim(USER, "key-1", _fingerprint()), IdempotencyKey)


def test_a_stale_claim_is_taken_over_with_its_payment(settings):
    record = idempotency.claim(USER, "key-1", _fingerprint())
    stale = timezone.now() - timedelta(seconds=settings.IDEMPOTENCY_LOCK_TIMEOUT_SECONDS + 1)
    IdempotencyKey.objects.filter(pk=record.pk).update(locked_at=stale)
    taken_over = idempotency.claim(USER, "key-1", _fingerprint())
    assert taken_over.pk == record.pk
    assert taken_over.locked_at > stale


def test_an_expired_key_is_new_again():
    _complete(idempotency.claim(USER, "key-1", _fingerprint()))
    IdempotencyKey.objects.update(expires_at=timezone.now() - timedelta(seconds=1))
    fresh = idempotency.claim(USER, "key-1", _fingerprint({**BODY, "items": []}))
    assert isinstance(fresh, IdempotencyKey)
    assert (fresh.status, fresh.response_body) == ("in_progress", "")


def test_expired_keys_are_purged_by_the_task_and_the_command():
    for key in ("old-1", "old-2", "new"):
        idempotency.claim(USER, key, _fingerprint())
    IdempotencyKey.objects.filter(key__startswith="old").update(expires_at=timezone.now())
    assert purge_expired_idempotency_keys() == 2
    IdempotencyKey.objects.update(expires_at=timezone.now())
    call_command("purge_idempotency_keys")
    assert not IdempotencyKey.objects.exists()
