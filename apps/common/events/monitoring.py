"""What the event plumbing shows to Prometheus beyond its counters: every label set of those
counters exported at 0 from start-up, and the outbox backlog the scrape reads. Installed by
`CommonConfig.ready()`; the metrics module itself knows no outbox.
"""

from django.db.models import Count, Min
from django.utils import timezone

from apps.common.events.envelope import handlers_for, topics_consumed_by
from apps.common.events.outbox import outbox_model
from apps.common.events.relay import publishing_apps
from apps.common.observability import metrics
from config.service_apps import DOMAIN_APPS, served_apps


def install() -> None:
    create_event_label_sets()
    for app in publishing_apps(among=DOMAIN_APPS):
        metrics.OUTBOX_STATE[app] = lambda app=app: outbox_state(app)


def create_event_label_sets() -> None:
    """Export every label set of the event counters this process can write, at 0, from start-up.

    A labelled counter otherwise first appears at 1, and `increase()` (the `OutboxRelayFailing`
    and `DeadLettersGrowing` alerts) never sees that first failure.
    """
    for app in publishing_apps():
        for outcome in metrics.RELAY_OUTCOMES:
            metrics.EVENTS_RELAYED.labels(app=app, outcome=outcome)
    for app in served_apps():
        if handlers_for(app):
            for topic in topics_consumed_by(app):
                for outcome in metrics.CONSUMER_OUTCOMES:
                    metrics.EVENTS_CONSUMED.labels(topic=topic, app=app, outcome=outcome)


def outbox_state(app: str) -> tuple[int, float]:
    """(unsent events, seconds since the oldest of them was committed) of `app`'s outbox."""
    unsent = outbox_model(app).objects.using(app).filter(sent_at__isnull=True)
    # One indexed scan: the partial index on created_at covers exactly the unsent rows.
    state = unsent.aggregate(count=Count("pk"), oldest=Min("created_at"))
    age = (timezone.now() - state["oldest"]).total_seconds() if state["oldest"] else 0.0
    return state["count"], max(age, 0.0)
