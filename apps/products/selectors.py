"""Reads of the catalogue."""

from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal
from uuid import UUID

from django.contrib.postgres.search import SearchQuery, SearchRank
from django.db import connections
from django.db.models import F, Q, QuerySet

from apps.products.errors import ProductNotFound
from apps.products.models import DB, Category, Product


@dataclass(frozen=True)
class ProductFilters:
    search: str | None = None
    category: Category | None = None
    min_price: Decimal | None = None
    max_price: Decimal | None = None
    in_stock: bool | None = None
    status: str | None = None
    ordering: str | None = None


def categories() -> QuerySet[Category]:
    return Category.objects.all()


def category_by_id(category_id: UUID) -> Category | None:
    return Category.objects.filter(pk=category_id).first()


def category_by_slug(slug: str) -> Category | None:
    return Category.objects.filter(slug=slug).first()


def in_category_tree(category: Category) -> Q:
    """Products in `category` or any of its descendants."""
    subtree = Category.objects.filter(Q(pk=category.pk) | Q(path__startswith=f"{category.path}/"))
    return Q(category__in=subtree.values("pk"))


def _search(queryset: QuerySet[Product], term: str) -> QuerySet[Product]:
    if connections[DB].vendor != "postgresql":
        return queryset.filter(
            Q(name__icontains=term) | Q(description__icontains=term) | Q(sku__icontains=term)
        )
    query = SearchQuery(term, config="english", search_type="websearch")
    return queryset.filter(Q(search_vector=query) | Q(sku__istartswith=term)).annotate(
        rank=SearchRank(F("search_vector"), query),
    )


def product_list(filters: ProductFilters, *, staff: bool) -> QuerySet[Product]:
    """The catalogue as its reader may see it: the public sees only active products."""
    products = Product.objects.defer("search_vector")  # only what the API renders
    if not staff:
        products = products.filter(status=Product.Status.ACTIVE)
    elif filters.status:
        products = products.filter(status=filters.status)
    if filters.category is not None:
        products = products.filter(in_category_tree(filters.category))
    if filters.min_price is not None:
        products = products.filter(price__gte=filters.min_price)
    if filters.max_price is not None:
        products = products.filter(price__lte=filters.max_price)
    if filters.in_stock is not None:
        products = products.filter(in_stock=filters.in_stock)
    ordering = [filters.ordering] if filters.ordering else []
    if filters.search:
        products = _search(products, filters.search)
        if not ordering and "rank" in products.query.annotations:
            ordering = ["-rank"]
    # The id breaks ties, so pages never overlap or skip rows.
    return products.order_by(*(ordering or ["-created_at"]), "id")


def product_detail(product_id: UUID, *, staff: bool) -> Product:
    """Inactive products are not found, except by staff."""
    product = Product.objects.defer("search_vector").filter(pk=product_id).first()
    if product is None or not (staff or product.is_active):
        raise ProductNotFound()
    return product


def products_by_id(product_ids: Iterable[UUID]) -> list[Product]:
    return list(Product.objects.filter(pk__in=list(product_ids)))
