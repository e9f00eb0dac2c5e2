"""The outbox woke its relays itself (PostgreSQL), inside the inserting transaction, until 0006."""

from django.db import migrations

from apps.common.events.outbox import notify_relays_on_insert


class Migration(migrations.Migration):

    dependencies = [
        ("payments", "0004_stripe_webhook_events"),
    ]

    operations = [
        notify_relays_on_insert("payments"),
    ]
