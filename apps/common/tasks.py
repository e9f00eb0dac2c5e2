"""Celery tasks of the event plumbing: the outbox relay, nudged after commit and run by beat."""

from celery import shared_task

from apps.common.relay import publishing_apps, relay_outbox


@shared_task(name="common.relay_outbox", ignore_result=True)
def relay_outbox_task(app: str) -> int:
    return relay_outbox(app)


@shared_task(name="common.relay_outboxes", ignore_result=True)
def relay_outboxes_task() -> None:
    """Beat entry: relay each publishing app served by this deployment, each in its own task."""
    for app in publishing_apps():
        relay_outbox_task.delay(app)
