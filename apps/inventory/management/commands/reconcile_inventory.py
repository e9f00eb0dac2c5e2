from django.core.management.base import BaseCommand, CommandError

from apps.common.api.errors import DomainError
from apps.common.management.progress import progress
from apps.common.management.table import format_table
from apps.inventory import selectors, services
from apps.inventory.models import StockRecord
from config.service_apps import is_served


class Command(BaseCommand):
    help = (
        "Check every stock record against what it is derived from: on_hand against the sum of its "
        "ledger, reserved against the units of its active reservations. Prints a table of the "
        "records that drifted. With --fix, corrects each one (a ledger entry records the "
        "correction and stock_changed is emitted). Exits 1 when drift remains, so cron can alert; "
        "re-running after a fix finds nothing."
    )

    def add_arguments(self, parser):
        parser.add_argument("--fix", action="store_true",
                            help="Correct the drift found (default: only report it).")
        parser.add_argument("--chunk-size", type=int, default=1000,
                            help="Stock records checked per query (default 1000).")

    def handle(self, *args, fix: bool, chunk_size: int, **options):
        if not is_served("inventory"):
            raise CommandError("This process does not serve inventory (see SERVICE_APPS).")
        drifts = []
        total = StockRecord.objects.using("inventory").count()
        verbosity = options["verbosity"]
        with progress(total=total, desc="Checking stock", unit="record", verbosity=verbosity) as bar:
            for checked, found in selectors.stock_drifts(chunk_size):
                drifts.extend(found)
                bar.update(checked)
        if not drifts:
            self.stdout.write(self.style.SUCCESS(f"No drift in {total} stock record(s)."))
            return
        self.stdout.write(format_table(
            ("product_id", "on_hand", "ledger", "reserved", "open reservations"),
            [(drift.product_id, drift.on_hand, drift.ledger_on_hand, drift.reserved, drift.open_reserved)
             for drift in drifts],
        ))
        if not fix:
            raise CommandError(
                f"{len(drifts)} of {total} stock record(s) drifted; run with --fix to correct them.")
        unfixed = []
        for drift in progress(drifts, desc="Fixing", unit="record", verbosity=verbosity):
            try:
                services.reconcile_stock(drift.product_id)
            except DomainError as error:
                unfixed.append(f"{drift.product_id}: {error.detail}")
        for reason in unfixed:
            self.stderr.write(reason)
        if unfixed:
            raise CommandError(f"{len(unfixed)} of {len(drifts)} drifted record(s) could not be fixed.")
        self.stdout.write(self.style.SUCCESS(f"Fixed {len(drifts)} drifted stock record(s)."))
