"""Celery tasks of the event plumbing: the outbox relay, nudged after commit and run by beat."""

from celery import shared_task

from apps.common.relay import RelayError, publishing_apps, relay_outbox


# A relay that could not reach the broker (down, restarting, or a connection refused under load)
# tries again with backoff instead of leaving the backlog to the next beat or operator.
@shared_task(name="common.relay_outbox", ignore_result=True, autoretry_for=(RelayError,),
             retry_backoff=1, retry_backoff_max=30, max_retries=8)
def relay_outbox_task(app: str) -> int:
    return relay_outbox(app)


@shared_task(name="common.relay_outboxes", ignore_result=True)
def relay_outboxes_task() -> None:
    """Beat entry: relay each publishing app served by this deployment, each in its own task."""
    for app in publishing_apps():
        relay_outbox_task.delay(app)
