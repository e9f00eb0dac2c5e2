"""Replaying dead letters: republish each to its original topic, where its consumer applies it
(once: consumers record event ids). Marked replayed only when the broker acknowledged it, so
running a replay again never republishes what already went out, and never loses what did not."""

from django.conf import settings
from django.utils import timezone

from apps.common.events import kafka
from apps.common.events.envelope import FORMAT
from apps.common.models import DeadLetter


def replay(dead_letters) -> tuple[int, list[str]]:
    """Republish the unreplayed ones among `dead_letters`; return (how many, errors)."""
    pending = list(dead_letters.filter(replayed_at__isnull=True).order_by("created_at"))
    if not pending:
        return 0, []
    if not settings.KAFKA_BOOTSTRAP_SERVERS:
        raise RuntimeError("replaying dead letters needs KAFKA_BOOTSTRAP_SERVERS")
    kafka.ensure_topics({letter.topic for letter in pending})
    producer = kafka.producer()
    reports: dict = {}
    for letter in pending:
        producer.produce(
            letter.topic, key=letter.key.encode() or None, value=letter.payload.encode(),
            # A dead letter's payload is the event's JSON document: structured mode.
            headers={"content-type": FORMAT.get_content_type(), "dlq_replay_of": str(letter.pk)},
            on_delivery=lambda error, message, pk=letter.pk: reports.__setitem__(pk, error),
        )
    producer.flush(settings.KAFKA_DELIVERY_TIMEOUT_SECONDS + 5)
    delivered = [pk for pk, error in reports.items() if error is None]
    DeadLetter.objects.filter(pk__in=delivered).update(replayed_at=timezone.now())
    errors = [f"dead letter {letter.pk}: {reports.get(letter.pk) or 'no delivery report'}"
              for letter in pending if letter.pk not in delivered]
    return len(delivered), errors
