from rest_framework import serializers

from apps.inventory import services
from apps.inventory.errors import ZeroAdjustment
from apps.inventory.models import MAX_UNITS, LedgerEntry


class PublicStockSerializer(serializers.Serializer):
    product_id = serializers.UUIDField(read_only=True)
    available = serializers.IntegerField(read_only=True)


class StaffStockSerializer(PublicStockSerializer):
    on_hand = serializers.IntegerField(read_only=True)
    reserved = serializers.IntegerField(read_only=True)
    low_stock_threshold = serializers.IntegerField(read_only=True)


class LowStockSerializer(StaffStockSerializer):
    sku = serializers.CharField(read_only=True, help_text="The product's SKU, from the product events.")
    name = serializers.CharField(read_only=True, help_text="The product's name, from the product events.")


class StockSerializer(PublicStockSerializer):
    """GET /inventory/{id} as documented: one shape, whose staff-only fields others never get."""

    on_hand = serializers.IntegerField(required=False, help_text="Staff only.")
    reserved = serializers.IntegerField(required=False, help_text="Staff only.")
    low_stock_threshold = serializers.IntegerField(required=False, help_text="Staff only.")


class ThresholdInputSerializer(serializers.Serializer):
    low_stock_threshold = serializers.IntegerField(min_value=0, max_value=MAX_UNITS)


class AdjustmentInputSerializer(serializers.Serializer):
    delta = serializers.IntegerField(min_value=-MAX_UNITS, max_value=MAX_UNITS)
    reason = serializers.CharField(max_length=255)

    def validate_delta(self, value):
        try:
            return services.check_delta(value)
        except ZeroAdjustment as error:
            raise serializers.ValidationError(error.detail) from None


class AdjustmentSerializer(serializers.ModelSerializer):
    product_id = serializers.UUIDField(read_only=True)
    actor_email = serializers.SerializerMethodField(
        help_text="The staff user's e-mail (adjustments, refunds from the admin); else null.")

    class Meta:
        model = LedgerEntry
        fields = ["id", "product_id", "kind", "delta", "reason", "reference", "actor_id", "actor_email",
                  "on_hand_after", "created_at"]
        read_only_fields = fields

    def get_actor_email(self, entry) -> str | None:
        return entry.actor_email or None
