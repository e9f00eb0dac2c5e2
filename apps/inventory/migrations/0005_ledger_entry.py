"""`StockAdjustment` is now `LedgerEntry` (an adjustment is one of its four kinds). The table keeps
its name, so this changes no schema."""

from django.db import migrations


class Migration(migrations.Migration):

    dependencies = [
        ("inventory", "0004_outbox_notify_trigger"),
    ]

    operations = [
        migrations.AlterModelTable(name="stockadjustment", table="inventory_stockadjustment"),
        migrations.RenameModel(old_name="StockAdjustment", new_name="LedgerEntry"),
    ]
