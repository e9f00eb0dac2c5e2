from django.core.management.base import BaseCommand, CommandError
from tqdm import tqdm

from apps.products import services
from apps.products.models import Product
from config.service_apps import is_served


class Command(BaseCommand):
    help = ("Emit products.product_changed for every product (through the outbox), so a consumer that "
            "started late catches up: inventory makes the missing stock records and learns SKUs and "
            "names. Safe to repeat: a product's current state applied again changes nothing.")

    def add_arguments(self, parser):
        parser.add_argument("--batch-size", type=int, default=1000, help="Products per transaction.")

    def handle(self, *args, batch_size: int, **options):
        if not is_served("products"):
            raise CommandError("This process does not serve products (see SERVICE_APPS).")
        announced = 0
        with tqdm(total=Product.objects.count(), desc="Announcing products", unit="product") as progress:
            for count in services.announce_products(batch_size):
                announced += count
                progress.update(count)
        self.stdout.write(self.style.SUCCESS(f"{announced} product(s) announced."))
