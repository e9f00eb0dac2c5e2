"""The outbox woke its relays itself (PostgreSQL), inside the inserting transaction, until 0005."""

from django.db import migrations

from apps.common.events.outbox import notify_relays_on_insert


class Migration(migrations.Migration):

    dependencies = [
        ("products", "0003_outbox"),
    ]

    operations = [
        notify_relays_on_insert("products"),
    ]
