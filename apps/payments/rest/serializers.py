from rest_framework import serializers

from apps.payments.models import Payment, PaymentItem

MAX_LINES = 100
MAX_UNITS_PER_LINE = 1000


class PurchaseItemInputSerializer(serializers.Serializer):
    product_id = serializers.UUIDField()
    quantity = serializers.IntegerField(min_value=1, max_value=MAX_UNITS_PER_LINE)


class PaymentMethodInputSerializer(serializers.Serializer):
    token = serializers.CharField(max_length=255, help_text="Sandbox: `tok_visa`, `tok_chargeDeclined`, "
                                                            "`tok_processingError`.")


class PurchaseInputSerializer(serializers.Serializer):
    items = serializers.ListField(child=PurchaseItemInputSerializer(), min_length=1, max_length=MAX_LINES)
    payment_method = PaymentMethodInputSerializer()

    def validate_items(self, items):
        # A product appears once per payment (one line, one unit price): a client that sends
        # it twice most likely has a bug, so the request is refused rather than guessed at.
        seen = set()
        for item in items:
            if item["product_id"] in seen:
                raise serializers.ValidationError(f"Product {item['product_id']} appears more than once.")
            seen.add(item["product_id"])
        return items


class PaymentItemSerializer(serializers.ModelSerializer):
    class Meta:
        model = PaymentItem
        fields = ["product_id", "quantity", "unit_price", "sku", "name"]
        extra_kwargs = {"sku": {"help_text": "The product's SKU at purchase time."},
                        "name": {"help_text": "The product's name at purchase time."}}


class PaymentSerializer(serializers.ModelSerializer):
    items = PaymentItemSerializer(many=True, read_only=True)
    failure_code = serializers.SerializerMethodField(help_text="Why a `failed` payment failed; else null.")

    class Meta:
        model = Payment
        fields = ["id", "status", "amount", "currency", "items", "user_id", "failure_code",
                  "created_at", "refunded_at"]

    def get_failure_code(self, payment) -> str | None:
        return payment.failure_code or None


def render_payment(payment: Payment) -> dict:
    """A payment as the purchase's 201 body (stored with its idempotency key and replayed)."""
    return PaymentSerializer(payment).data


class NextActionSerializer(serializers.Serializer):
    type = serializers.CharField(help_text="Stripe's `next_action.type`, e.g. `use_stripe_sdk`.")
    client_secret = serializers.CharField(
        help_text="For Stripe.js `handleNextAction` in the shopper's browser.")


class PendingPaymentSerializer(PaymentSerializer):
    """The 202 answer: the payment waits on the shopper (3-D Secure)."""

    next_action = NextActionSerializer()

    class Meta(PaymentSerializer.Meta):
        fields = [*PaymentSerializer.Meta.fields, "next_action"]


class PaymentListQuerySerializer(serializers.Serializer):
    user_id = serializers.UUIDField(required=False, help_text="Staff: one user's payments.")
    status = serializers.ChoiceField(choices=Payment.Status.choices, required=False)


class RefundInputSerializer(serializers.Serializer):
    restock = serializers.BooleanField(default=False, help_text="Put the refunded units back on hand.")
