"""The relays are woken after commit, outside the data transaction: see
apps.common.events.outbox._wake_relays."""

from django.db import migrations

from apps.common.events.outbox import stop_notifying_relays_on_insert


class Migration(migrations.Migration):

    dependencies = [
        ("payments", "0005_outbox_notify_trigger"),
    ]

    operations = [
        stop_notifying_relays_on_insert("payments"),
    ]
