"""Writes to the catalogue. Each runs in one transaction on the products database,
invalidates the public catalogue cache once it commits, and emits `products.product_changed`
for every product it creates or changes, in the same transaction."""

from collections.abc import Iterable
from datetime import datetime
from uuid import UUID

from django.db import IntegrityError, transaction

from apps.common.bulk import update_rows
from apps.common.events.outbox import emit_many
from apps.products import catalogue_cache
from apps.products.errors import ProductNotFound, SkuTaken, SlugTaken
from apps.products.event_types import ProductChanged
from apps.products.models import DB, Category, Product, StockState


def create_category(*, name: str, slug: str, parent: Category | None) -> Category:
    with transaction.atomic(using=DB):
        if Category.objects.filter(slug=slug).exists():
            raise SlugTaken()
        try:
            with transaction.atomic(using=DB):
                category = Category.objects.create(name=name, slug=slug, parent=parent)
        except IntegrityError:
            raise SlugTaken() from None  # a concurrent create took it
        catalogue_cache.invalidate_on_commit()
    return category


def _announce(products: list[Product]) -> None:
    emit_many("products", [
        (ProductChanged.TYPE, ProductChanged(product_id=product.id, sku=product.sku, name=product.name,
                                             status=product.status).to_data(), str(product.id))
        for product in products
    ])


def _save(product: Product) -> Product:
    if Product.objects.filter(sku=product.sku).exclude(pk=product.pk).exists():
        raise SkuTaken()
    try:
        with transaction.atomic(using=DB):
            product.save()
    except IntegrityError:
        raise SkuTaken() from None  # a concurrent write took it
    _announce([product])
    catalogue_cache.invalidate_on_commit()
    return product


def save_product(product: Product) -> Product:
    """Save a product edited as a whole (the admin's form)."""
    with transaction.atomic(using=DB):
        return _save(product)


def create_product(**fields) -> Product:
    with transaction.atomic(using=DB):
        product = Product(**fields)
        stock = StockState.objects.filter(product_id=product.id).first()
        product.in_stock = stock is not None and stock.available > 0
        return _save(product)


def create_products_in_bulk(products: list[Product]) -> None:
    """Insert many new products at once (seeding); SKUs already taken are skipped."""
    with transaction.atomic(using=DB):
        stocked = set(StockState.objects.filter(product_id__in=[p.id for p in products], available__gt=0)
                      .values_list("product_id", flat=True))
        for product in products:
            product.in_stock = product.id in stocked
        Product.objects.bulk_create(products, ignore_conflicts=True)
        # Announce only the rows this call inserted (a concurrent seed may have taken a SKU).
        created = set(Product.objects.filter(pk__in=[p.id for p in products]).values_list("pk", flat=True))
        _announce([product for product in products if product.id in created])
        catalogue_cache.invalidate_on_commit()


def update_product(product_id: UUID, **fields) -> Product:
    with transaction.atomic(using=DB):
        product = Product.objects.select_for_update().filter(pk=product_id).first()
        if product is None:
            raise ProductNotFound()
        for name, value in fields.items():
            setattr(product, name, value)
        return _save(product)


def deactivate_product(product_id: UUID) -> None:
    """Takes the product out of the public catalogue; staff and payment history still see it."""
    with transaction.atomic(using=DB):
        product = Product.objects.select_for_update().filter(pk=product_id).first()
        if product is None:
            raise ProductNotFound()
        if product.status != Product.Status.INACTIVE:
            product.status = Product.Status.INACTIVE
            product.save(update_fields=["status", "updated_at"])
            _announce([product])
            catalogue_cache.invalidate_on_commit()


def announce_products(batch_size: int = 1000):
    """Emit `products.product_changed` for every product, a batch per transaction; yield how many
    each batch announced. For consumers that start late (inventory's read model after an
    upgrade): applying a product's current state again changes nothing."""
    last = None
    while True:
        with transaction.atomic(using=DB):
            products = Product.objects.order_by("pk")
            batch = list((products.filter(pk__gt=last) if last else products)[:batch_size])
            if not batch:
                return
            _announce(batch)
        last = batch[-1].pk
        yield len(batch)


def record_stock(product_id: UUID, available: int, as_of: datetime) -> None:
    """Apply a stock level reported by inventory (see `record_stocks`)."""
    record_stocks([(product_id, available, as_of)])


def record_stocks(levels: Iterable[tuple[UUID, int, datetime]]) -> None:
    """Apply stock levels reported by inventory, as (product id, available, as of); a report
    older than the last one applied for its product is ignored. One transaction, a fixed number
    of statements for any number of levels: the states are locked in product id order, and the
    products' `in_stock` is updated in one statement."""
    newest: dict[UUID, tuple[int, datetime]] = {}
    for product_id, available, as_of in levels:
        if product_id not in newest or as_of >= newest[product_id][1]:
            newest[product_id] = (available, as_of)
    ids = sorted(newest)
    with transaction.atomic(using=DB):
        StockState.objects.bulk_create(
            [StockState(product_id=product_id, available=available, as_of=as_of)
             for product_id, (available, as_of) in newest.items()], ignore_conflicts=True,
        )
        states = StockState.objects.select_for_update().filter(product_id__in=ids).order_by("product_id")
        updated = []
        for state in states:
            available, as_of = newest[state.product_id]
            if as_of < state.as_of:
                del newest[state.product_id]  # older than what is applied: ignored
            elif (state.available, state.as_of) != (available, as_of):
                state.available, state.as_of = available, as_of
                updated.append(state)
        update_rows(StockState, "product_id", ["available", "as_of"],
                    [(state.product_id, state.available, state.as_of) for state in updated], using=DB)
        in_stock = [(product_id, available > 0) for product_id, (available, _) in sorted(newest.items())]
        changed = update_rows(Product, "id", ["in_stock"], in_stock, using=DB, only_changed=True)
        if changed:
            catalogue_cache.invalidate_on_commit()
