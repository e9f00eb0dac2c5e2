import uuid

from django.contrib.postgres.search import SearchVectorField
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Value
from django.db.models.functions import Concat, Substr

from apps.common.events.outbox import OutboxEventBase, ProcessedEventBase

# The database alias of the catalogue's tables.
DB = "products"


class OutboxEvent(OutboxEventBase):
    """products.* events, committed with the catalogue change they describe."""


class ProcessedEvent(ProcessedEventBase):
    """Events products has applied (the in-stock read model), for exactly-once effect."""


class Category(models.Model):
    """A node of the category tree.

    `path` is the materialized path of slugs ("electronics/phones"): ordering by it lists the
    tree depth-first, and a category's descendants are the rows whose path starts with its own.
    """

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    name = models.CharField(max_length=100)
    slug = models.SlugField(max_length=100, unique=True)
    parent = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.PROTECT, related_name="children",
    )
    path = models.CharField(max_length=1000, unique=True, editable=False)

    class Meta:
        ordering = ["path"]
        verbose_name_plural = "categories"

    def __str__(self):
        return self.name

    def save(self, *args, **kwargs):
        old_path = self.path
        self.path = f"{self.parent.path}/{self.slug}" if self.parent_id else self.slug
        super().save(*args, **kwargs)
        if old_path and old_path != self.path:
            # A moved or renamed node carries its whole subtree along.
            Category.objects.using(self._state.db).filter(path__startswith=f"{old_path}/").update(
                path=Concat(Value(self.path), Substr("path", len(old_path) + 1)),
            )

    @property
    def depth(self) -> int:
        return self.path.count("/")

    def clean(self):
        if self.parent_id and self.pk and (self.parent_id == self.pk or self.parent.path.startswith(
                f"{self.path}/")):
            raise ValidationError({"parent": "A category cannot sit under itself or its descendants."})


class Product(models.Model):
    class Status(models.TextChoices):
        ACTIVE = "active"
        INACTIVE = "inactive"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    sku = models.CharField("SKU", max_length=64, unique=True)
    name = models.CharField(max_length=200)
    description = models.TextField(blank=True)
    price = models.DecimalField(max_digits=12, decimal_places=2)
    currency = models.CharField(max_length=3, default="USD")
    status = models.CharField(max_length=8, choices=Status.choices, default=Status.ACTIVE)
    image_urls = models.JSONField(default=list, blank=True)
    # Indexed by `product_category_status` below.
    category = models.ForeignKey(
        Category, null=True, blank=True, on_delete=models.PROTECT, related_name="products", db_index=False,
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    # Read model of inventory's stock, kept current by `inventory.stock_changed` events.
    in_stock = models.BooleanField(default=False, editable=False)
    # Kept current by a database trigger on PostgreSQL (see migration 0002); unused on SQLite.
    search_vector = SearchVectorField(null=True, editable=False)

    class Meta:
        ordering = ["-created_at", "id"]
        indexes = [
            # The public catalogue always filters on status; these serve each `ordering`.
            models.Index(fields=["status", "price"], name="product_status_price"),
            models.Index(fields=["status", "name"], name="product_status_name"),
            models.Index(fields=["status", "-created_at"], name="product_status_created"),
            models.Index(fields=["category", "status"], name="product_category_status"),
            models.Index(fields=["status", "in_stock"], name="product_status_in_stock"),
        ]

    def __str__(self):
        return f"{self.sku} {self.name}"

    @property
    def is_active(self) -> bool:
        return self.status == self.Status.ACTIVE


class StockState(models.Model):
    """The last stock event applied per product id, known or not yet.

    A product created after its stock event still starts with the right `in_stock`, and an
    event older than the one applied (out-of-order delivery) is ignored.
    """

    product_id = models.UUIDField(primary_key=True)
    available = models.IntegerField()
    as_of = models.DateTimeField()

    def __str__(self):
        return f"{self.product_id}: {self.available} as of {self.as_of:%Y-%m-%d %H:%M:%S}"
