from celery import shared_task

from apps.payments import idempotency, reconciliation


@shared_task(name="payments.purge_expired_idempotency_keys")
def purge_expired_idempotency_keys() -> int:
    return idempotency.purge_expired()


@shared_task(name="payments.reconcile_sales", ignore_result=True)
def reconcile_sales() -> None:
    """Run by Celery beat every RECONCILE_SALES_INTERVAL_SECONDS (config/settings.py)."""
    reconciliation.reconcile_sales()
