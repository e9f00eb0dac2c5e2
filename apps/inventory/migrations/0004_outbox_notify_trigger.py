"""The outbox woke its relays itself (PostgreSQL), inside the inserting transaction, until 0006."""

from django.db import migrations

from apps.common.events.outbox import notify_relays_on_insert


class Migration(migrations.Migration):

    dependencies = [
        ("inventory", "0003_product_read_model_and_actor_email"),
    ]

    operations = [
        notify_relays_on_insert("inventory"),
    ]
