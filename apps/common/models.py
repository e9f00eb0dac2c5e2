"""The one table of the shared kernel: messages a consumer gave up on (they live in `default`)."""

from django.db import models
from django.utils import timezone


class DeadLetter(models.Model):
    """A message that could not be applied; it was also published to `<topic>.dlq`."""

    topic = models.CharField(max_length=200, help_text="The original topic.")
    partition = models.IntegerField()
    offset = models.BigIntegerField()
    key = models.CharField(max_length=200, blank=True)
    payload = models.TextField(help_text="The message value as received.")
    event_id = models.CharField(max_length=255, blank=True)
    event_type = models.CharField(max_length=200, blank=True)
    error = models.TextField()
    consumer_app = models.CharField(max_length=50)
    created_at = models.DateTimeField(default=timezone.now, db_index=True)
    replayed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            # A consumer that dies after recording a dead letter sees the message again.
            models.UniqueConstraint(
                fields=["consumer_app", "topic", "partition", "offset"], name="common_deadletter_once",
            ),
        ]

    def __str__(self):
        return f"{self.consumer_app} {self.topic}[{self.partition}]@{self.offset}"
