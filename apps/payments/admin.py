"""Admin for payments; imported by config.urls only where the app is served.

Money fields are read-only: a payment changes only through the services (the refund action).
"""

from django.contrib import admin, messages

from apps.common.admin import OutboxEventAdmin
from apps.common.errors import DomainError
from apps.payments import services
from apps.payments.models import OutboxEvent, Payment, PaymentItem


class PaymentItemInline(admin.TabularInline):
    model = PaymentItem
    fields = ["product_id", "quantity", "unit_price"]
    readonly_fields = fields
    extra = 0
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False


def _refund(modeladmin, request, queryset, *, restock):
    for payment in queryset:
        try:
            services.refund_payment(payment.pk, restock=restock)
        except DomainError as error:
            modeladmin.message_user(request, f"Payment {payment.pk}: {error.detail}", messages.ERROR)
        else:
            modeladmin.message_user(request, f"Payment {payment.pk} refunded.", messages.SUCCESS)


@admin.action(description="Refund selected payments and put their units back on hand")
def refund_and_restock(modeladmin, request, queryset):
    _refund(modeladmin, request, queryset, restock=True)


@admin.action(description="Refund selected payments without restocking")
def refund_without_restock(modeladmin, request, queryset):
    _refund(modeladmin, request, queryset, restock=False)


@admin.register(Payment)
class PaymentAdmin(admin.ModelAdmin):
    list_display = ["id", "user_id", "status", "amount", "currency", "created_at"]
    list_filter = ["status", "created_at", "provider"]
    search_fields = ["id", "user_id", "provider_charge_id"]
    date_hierarchy = "created_at"
    readonly_fields = ["id", "user_id", "status", "amount", "currency", "provider", "provider_charge_id",
                       "failure_code", "created_at", "updated_at", "refunded_at"]
    inlines = [PaymentItemInline]
    actions = [refund_and_restock, refund_without_restock]

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


admin.site.register(OutboxEvent, OutboxEventAdmin)
