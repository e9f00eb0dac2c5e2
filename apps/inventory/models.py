import uuid

from django.db import models
from django.utils import timezone

from apps.common.events.outbox import OutboxEventBase, ProcessedEventBase

# The database alias of inventory's tables.
DB = "inventory"
# The bound of the integer columns, so no input can overflow them into a 500.
MAX_UNITS = 2**31 - 1


class StockRecord(models.Model):
    """Units of one product: `on_hand` in the warehouse, `reserved` for unpaid checkouts.

    It also keeps what staff know the product by (SKU, name, status): a read model fed by
    `products.product_changed`, which creates the record of every new product, so lists show
    and search names without asking products per row, and never-stocked products are low on stock.
    """

    product_id = models.UUIDField(primary_key=True)
    sku = models.CharField("SKU", max_length=64, blank=True, db_index=True)
    name = models.CharField(max_length=200, blank=True)
    product_status = models.CharField(
        max_length=8, blank=True, choices=[("active", "Active"), ("inactive", "Inactive")],
        help_text="The catalogue's status.",
    )
    # The time of the product event applied last: an older one arriving late is ignored.
    product_as_of = models.DateTimeField(null=True, blank=True, editable=False)
    # 64-bit: repeated receipts and adjustments cannot overflow them.
    on_hand = models.BigIntegerField(default=0)
    reserved = models.BigIntegerField(default=0)
    # 0: only a sold-out product is low on stock until staff choose a threshold.
    low_stock_threshold = models.IntegerField(default=0)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["product_id"]
        constraints = [
            models.CheckConstraint(condition=models.Q(reserved__gte=0), name="stock_reserved_not_negative"),
            # With reserved >= 0 this also keeps on_hand >= 0: available is never negative.
            models.CheckConstraint(
                condition=models.Q(on_hand__gte=models.F("reserved")), name="stock_on_hand_covers_reserved",
            ),
            models.CheckConstraint(
                condition=models.Q(low_stock_threshold__gte=0), name="stock_threshold_not_negative",
            ),
        ]

    def __str__(self):
        return f"{self.sku} {self.name}" if self.sku else str(self.product_id)

    @property
    def available(self) -> int:
        return self.on_hand - self.reserved


class LedgerEntry(models.Model):
    """The ledger: one row for every change of a product's `on_hand`."""

    class Kind(models.TextChoices):
        ADJUSTMENT = "adjustment"
        SALE = "sale"
        REFUND = "refund"
        RECEIPT = "receipt"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    stock = models.ForeignKey(
        StockRecord, on_delete=models.PROTECT, related_name="adjustments", db_column="product_id",
    )
    kind = models.CharField(max_length=20, choices=Kind.choices)
    delta = models.IntegerField()
    reason = models.CharField(max_length=255, blank=True)
    actor_id = models.UUIDField(null=True, blank=True)  # the staff user; None for events
    actor_email = models.EmailField(blank=True)  # the staff user's e-mail at the time
    reference = models.CharField(max_length=255, blank=True)  # payment id, receipt number, ...
    on_hand_after = models.BigIntegerField()
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-created_at"]
        verbose_name = "ledger entry"
        db_table = "inventory_stockadjustment"  # the table kept its first name
        verbose_name_plural = "stock ledger"
        indexes = [models.Index(fields=["stock", "-created_at"], name="inventory_ledger_by_product")]
        constraints = [
            # A sale, refund or receipt of one reference changes a product's stock once.
            models.UniqueConstraint(
                fields=["kind", "reference", "stock"], name="inventory_ledger_once_per_reference",
                condition=~models.Q(reference=""),
            ),
        ]

    def __str__(self):
        return f"{self.kind} {self.delta:+d} {self.stock_id}"

    @property
    def product_id(self):
        return self.stock_id


class Reservation(models.Model):
    class Status(models.TextChoices):
        ACTIVE = "active"
        COMMITTED = "committed"
        RELEASED = "released"
        EXPIRED = "expired"

    id = models.BigAutoField(primary_key=True)
    reference = models.CharField(max_length=255, unique=True)  # the payment id
    status = models.CharField(max_length=20, choices=Status.choices, default=Status.ACTIVE)
    expires_at = models.DateTimeField()
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at"]
        indexes = [
            models.Index(
                fields=["expires_at"], name="inventory_reservation_expiry",
                condition=models.Q(status="active"),
            ),
        ]

    def __str__(self):
        return f"{self.reference} ({self.status})"


class ReservationLine(models.Model):
    reservation = models.ForeignKey(Reservation, on_delete=models.CASCADE, related_name="lines")
    product_id = models.UUIDField()
    quantity = models.IntegerField()

    class Meta:
        constraints = [
            models.CheckConstraint(
                condition=models.Q(quantity__gt=0), name="reservation_line_quantity_positive",
            ),
            models.UniqueConstraint(
                fields=["reservation", "product_id"], name="reservation_line_once_per_product",
            ),
        ]

    def __str__(self):
        return f"{self.quantity} x {self.product_id}"


class SaleShortfall(models.Model):
    """Units sold that stock could not cover: the reservation was gone and too few were available.

    Stock is left untouched for such a line (its constraints hold); an operator settles it by
    adjusting stock or refunding the payment, then marks it resolved.
    """

    id = models.BigAutoField(primary_key=True)
    reference = models.CharField(max_length=255)  # the payment id
    product_id = models.UUIDField()
    quantity = models.IntegerField()
    available = models.IntegerField()  # what was available when the sale arrived
    created_at = models.DateTimeField(default=timezone.now)
    resolved = models.BooleanField(default=False)

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.UniqueConstraint(fields=["reference", "product_id"], name="shortfall_once_per_sale_line"),
        ]

    def __str__(self):
        return f"{self.quantity} x {self.product_id} short for {self.reference}"


class OutboxEvent(OutboxEventBase):
    """inventory.* events, committed with the stock change they describe."""


class ProcessedEvent(ProcessedEventBase):
    """Payment events inventory has applied (sales, refunds), for exactly-once effect."""
