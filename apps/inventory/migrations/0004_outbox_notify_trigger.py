"""The outbox wakes its relays itself (PostgreSQL): see apps.common.events.outbox.notify_relays_on_insert."""

from django.db import migrations

from apps.common.events.outbox import notify_relays_on_insert


class Migration(migrations.Migration):

    dependencies = [
        ("inventory", "0003_product_read_model_and_actor_email"),
    ]

    operations = [
        notify_relays_on_insert("inventory"),
    ]
