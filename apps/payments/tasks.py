from datetime import timedelta

from celery import shared_task
from django.conf import settings

from apps.payments import idempotency, reconciliation, services
from apps.payments.rest.serializers import render_payment


@shared_task(name="payments.purge_expired_idempotency_keys")
def purge_expired_idempotency_keys() -> int:
    return idempotency.purge_expired()


@shared_task(name="payments.reconcile_sales", ignore_result=True)
def reconcile_sales() -> None:
    """Run by Celery beat every RECONCILE_SALES_INTERVAL_SECONDS (config/settings.py)."""
    reconciliation.reconcile_sales()


@shared_task(name="payments.resolve_pending_payments")
def resolve_pending_payments() -> dict[str, int]:
    older_than = timedelta(seconds=settings.PENDING_PAYMENT_TIMEOUT_SECONDS)
    return dict(services.resolve_pending_payments(render_payment, older_than=older_than))
