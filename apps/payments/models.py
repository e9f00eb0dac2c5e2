import uuid
from decimal import Decimal

from django.db import models
from django.utils import timezone

from apps.common.events.outbox import OutboxEventBase

MONEY = {"max_digits": 12, "decimal_places": 2}
# The largest amount a money column holds (9,999,999,999.99).
MAX_AMOUNT = Decimal(10) ** (MONEY["max_digits"] - MONEY["decimal_places"]) - Decimal("0.01")

# The database alias of payments' tables.
DB = "payments"


class OutboxEvent(OutboxEventBase):
    """payments.* events, committed with the payment they describe."""


class Payment(models.Model):
    """One purchase attempt. Its id is also the inventory reservation's reference and the
    provider's idempotency key, so retrying a step of the same payment never repeats its effect."""

    class Status(models.TextChoices):
        PENDING = "pending"
        SUCCEEDED = "succeeded"
        FAILED = "failed"
        REFUNDED = "refunded"

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    user_id = models.UUIDField()  # a users id; no foreign key across apps
    customer_email = models.EmailField(blank=True)  # the user's e-mail at purchase time
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PENDING)
    amount = models.DecimalField(**MONEY)
    currency = models.CharField(max_length=3)
    provider = models.CharField(max_length=32)
    provider_charge_id = models.CharField(max_length=255, blank=True)
    failure_code = models.CharField(max_length=64, blank=True)
    created_at = models.DateTimeField(default=timezone.now)
    updated_at = models.DateTimeField(auto_now=True)
    refunded_at = models.DateTimeField(null=True, blank=True)
    disputed_at = models.DateTimeField(null=True, blank=True)  # the shopper disputed the charge
    # The staff user who refunded it (a users id, and the e-mail at the time).
    refunded_by_id = models.UUIDField(null=True, blank=True)
    refunded_by_email = models.EmailField(blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["user_id", "-created_at"], name="payment_user_created"),
            models.Index(fields=["status", "-created_at"], name="payment_status_created"),
            models.Index(fields=["-created_at"], name="payment_created"),
            models.Index(fields=["customer_email", "-created_at"], name="payment_email_created"),
        ]

    def __str__(self):
        return f"{self.id} {self.status} {self.amount} {self.currency}"


class PaymentItem(models.Model):
    payment = models.ForeignKey(Payment, on_delete=models.CASCADE, related_name="items")
    product_id = models.UUIDField()  # a products id; no foreign key across apps
    quantity = models.PositiveIntegerField()
    unit_price = models.DecimalField(**MONEY)  # the catalogue price when the payment was made
    # What the catalogue called the product then: later renames do not rewrite history.
    sku = models.CharField("SKU", max_length=64, blank=True)
    name = models.CharField(max_length=200, blank=True)

    class Meta:
        ordering = ["id"]
        constraints = [
            models.UniqueConstraint(fields=["payment", "product_id"], name="payment_item_unique_product"),
        ]

    def __str__(self):
        return f"{self.quantity} x {self.name or self.product_id}"


class IdempotencyKey(models.Model):
    """A client's `Idempotency-Key`, scoped to its user, and the response it got.

    The unique (user_id, key) constraint is what decides between concurrent requests with one
    key: exactly one inserts the row and runs; the others find it.
    """

    class Status(models.TextChoices):
        IN_PROGRESS = "in_progress"
        COMPLETED = "completed"

    user_id = models.UUIDField()
    key = models.CharField(max_length=255)
    request_fingerprint = models.CharField(max_length=64)  # sha256 of method, path and body
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.IN_PROGRESS)
    locked_at = models.DateTimeField()  # when the running request claimed it
    payment = models.ForeignKey(Payment, null=True, blank=True, on_delete=models.SET_NULL)
    response_status = models.PositiveSmallIntegerField(null=True, blank=True)
    response_body = models.TextField(blank=True)  # the JSON text, replayed byte for byte
    created_at = models.DateTimeField(default=timezone.now)
    expires_at = models.DateTimeField(db_index=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["user_id", "key"], name="idempotency_key_unique_per_user"),
        ]

    def __str__(self):
        return f"{self.key} ({self.status})"


class SandboxCharge(models.Model):
    """The sandbox provider's own ledger: what a real provider would record on its side."""

    class Status(models.TextChoices):
        SUCCEEDED = "succeeded"
        FAILED = "failed"

    id = models.CharField(primary_key=True, max_length=40)  # "ch_<hex>", as providers name charges
    idempotency_key = models.CharField(max_length=255, unique=True)
    amount = models.DecimalField(**MONEY)
    currency = models.CharField(max_length=3)
    token = models.CharField(max_length=255)
    status = models.CharField(max_length=16, choices=Status.choices)
    failure_code = models.CharField(max_length=64, blank=True)
    amount_refunded = models.DecimalField(default=0, **MONEY)
    created_at = models.DateTimeField(default=timezone.now)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self):
        return f"{self.id} {self.status} {self.amount} {self.currency}"


class WebhookEvent(models.Model):
    """A payment provider's webhook event, recorded in the transaction that applies it: its id
    makes a second delivery (a retry, a replay) change nothing."""

    provider = models.CharField(max_length=32)
    event_id = models.CharField(max_length=255)
    type = models.CharField(max_length=100)
    received_at = models.DateTimeField(default=timezone.now)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["provider", "event_id"], name="webhook_event_unique"),
        ]

    def __str__(self):
        return f"{self.provider} {self.type} {self.event_id}"
