from celery import shared_task

from apps.inventory import services


@shared_task(name="inventory.release_expired_reservations")
def release_expired_reservations() -> int:
    """Run by Celery beat every minute (CELERY_BEAT_SCHEDULE in config/settings.py)."""
    return services.release_expired_reservations()
