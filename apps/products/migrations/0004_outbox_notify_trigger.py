"""The outbox wakes its relays itself (PostgreSQL): see apps.common.events.outbox.notify_relays_on_insert."""

from django.db import migrations

from apps.common.events.outbox import notify_relays_on_insert


class Migration(migrations.Migration):

    dependencies = [
        ("products", "0003_outbox"),
    ]

    operations = [
        notify_relays_on_insert("products"),
    ]
