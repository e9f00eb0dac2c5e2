"""`manage.py seed_demo [--products N] [--no-stock]`: a realistic demo catalogue, idempotently."""

from django.core.management.base import BaseCommand, CommandError
from django.db import connections

from apps.common.management.progress import progress
from apps.inventory.interface import StockLine, receive_stock
from apps.products import demo_catalogue, services
from apps.products.models import DB, Product
from config.service_apps import is_served


class Command(BaseCommand):
    help = ("Seed a demo catalogue: a category tree, N products and their stock. Re-running adds only "
            "what is missing; a larger N extends the catalogue (100,000+ for benchmarks).")

    def add_arguments(self, parser):
        parser.add_argument("--products", type=int, default=50, help="How many products (default 50).")
        parser.add_argument("--batch-size", type=int, default=2000,
                            help="Products created per transaction (default 2000).")
        parser.add_argument("--no-stock", action="store_true",
                            help="Seed the catalogue only; receive no stock in inventory.")

    def handle(self, *args, products: int, batch_size: int, no_stock: bool, **options):
        if not is_served("products"):
            raise CommandError("This process does not serve products (see SERVICE_APPS).")
        leaves = demo_catalogue.ensure_categories()
        existing = set(Product.objects.filter(sku__startswith=demo_catalogue.SKU_PREFIX)
                       .values_list("sku", flat=True))
        created = 0
        with progress(total=products, desc="Seeding products", unit="product",
                      verbosity=options["verbosity"]) as bar:
            for start in range(1, products + 1, batch_size):
                numbers = range(start, min(start + batch_size, products + 1))
                new = [demo_catalogue.demo_product(number, leaves) for number in numbers
                       if demo_catalogue.sku(number) not in existing]
                if new:
                    if not no_stock:
                        self._receive_stock(new)
                    services.create_products_in_bulk(new)
                    created += len(new)
                bar.update(len(numbers))
        if created and connections[DB].vendor == "postgresql":
            # Fresh planner statistics, so the first queries after a large seed use the indexes.
            with connections[DB].cursor() as cursor:
                cursor.execute("ANALYZE products_product")
        self.stdout.write(self.style.SUCCESS(
            f"Demo catalogue: {len(leaves)} leaf categories, {created} products added, "
            f"{len(existing)} already there."))

    @staticmethod
    def _receive_stock(products: list[Product]) -> None:
        # Stock only for the products this run creates, under a reference naming them, before the
        # products exist (their ids are deterministic): a re-run after a failure in between
        # repeats the same idempotent call, and never doubles stock or restocks what was sold.
        lines = [StockLine(product_id=product.id, quantity=quantity) for product in products
                 if (quantity := demo_catalogue.demo_stock(product.sku))]
        if lines:
            receive_stock(f"seed-demo:{products[0].sku}..{products[-1].sku}", lines, reason="demo seed")
