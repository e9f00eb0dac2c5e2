"""`migrate` without `--database` migrates every database this process owns.

Django's own command migrates only `default`; with a database per app that would leave the
served apps' databases empty. The router decides which tables land in which database.
"""

from django.conf import settings
from django.core.management.commands import migrate


class Command(migrate.Command):
    help = (
        "Migrate every database this process owns (default plus one per app in SERVICE_APPS), "
        "or only the one named by --database."
    )

    def add_arguments(self, parser):
        super().add_arguments(parser)
        parser.set_defaults(database=None)

    def get_check_kwargs(self, options):
        kwargs = super().get_check_kwargs(options)
        databases = [options["database"]] if options["database"] else list(settings.DATABASES)
        return {**kwargs, "databases": databases}

    def handle(self, *args, **options):
        if options["database"] is not None:
            return super().handle(*args, **options)
        for alias in settings.DATABASES:
            if options["verbosity"] >= 1:
                self.stdout.write(self.style.MIGRATE_HEADING(f"Database {alias!r}:"))
            super().handle(*args, **{**options, "database": alias})
