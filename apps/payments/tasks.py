from celery import shared_task

from apps.payments import idempotency


@shared_task(name="payments.purge_expired_idempotency_keys")
def purge_expired_idempotency_keys() -> int:
    return idempotency.purge_expired()
