"""`createsuperuser` writes to the database that holds the user table, not to `default`.

With DJANGO_SUPERUSER_EMAIL / DJANGO_SUPERUSER_PASSWORD, `--noinput` works unattended.
"""

from django.contrib.auth.management.commands import createsuperuser

from config.routers import database_for


class Command(createsuperuser.Command):
    help = (
        "Create a staff superuser, who signs in to the admin with their email. Run it where users is "
        "served: the account lives in the users database, and the admins of processes that do not "
        "serve users accept it too. --noinput reads DJANGO_SUPERUSER_EMAIL and "
        "DJANGO_SUPERUSER_PASSWORD."
    )

    def add_arguments(self, parser):
        super().add_arguments(parser)
        parser.set_defaults(database=database_for("users", "user"))
