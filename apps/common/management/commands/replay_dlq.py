from django.core.management.base import BaseCommand, CommandError

from apps.common.events import dead_letters
from apps.common.models import DeadLetter


class Command(BaseCommand):
    help = (
        "Republish dead letters to their original topic, where the consumer applies them (once), "
        "and mark them replayed. Already replayed ones are skipped, so re-running is safe."
    )

    def add_arguments(self, parser):
        parser.add_argument("--app", help="Only dead letters of this consumer app.")
        parser.add_argument("--id", type=int, nargs="+", dest="ids", help="Only these dead letters.")

    def handle(self, *args, app=None, ids=None, **options):
        selected = DeadLetter.objects.all()
        if app:
            selected = selected.filter(consumer_app=app)
        if ids:
            selected = selected.filter(pk__in=ids)
        try:
            replayed, errors = dead_letters.replay(selected)
        except Exception as exc:
            raise CommandError(f"replay failed: {exc}") from exc
        for error in errors:
            self.stderr.write(self.style.ERROR(error))
        self.stdout.write(f"replayed {replayed} dead letter(s)")
        if errors:
            raise CommandError(f"{len(errors)} dead letter(s) not replayed")
