"""Admin for payments; imported by config.urls only where the app is served.

Payments are read-only here: they change only through the services. A refund goes through a
confirmation page (from the payment's Refund button or the list's action) that shows the amount
and lines and asks whether to restock; the staff user is recorded as its actor.
"""

from django.contrib import admin, messages
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.contrib.admin.utils import unquote
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpResponseRedirect
from django.template.response import TemplateResponse
from django.urls import path, reverse

from apps.common.admin import OutboxEventAdmin, ReadOnlyAdmin, ReadOnlyAdminMixin
from apps.common.api.errors import DomainError
from apps.payments import services
from apps.payments.models import IdempotencyKey, OutboxEvent, Payment, PaymentItem


class PaymentItemInline(ReadOnlyAdminMixin, admin.TabularInline):
    model = PaymentItem
    fields = ["sku", "name", "quantity", "unit_price", "product_id"]
    readonly_fields = fields
    extra = 0


@admin.register(Payment)
class PaymentAdmin(ReadOnlyAdmin):
    list_display = ["created_at", "customer_email", "amount", "currency", "status", "provider_charge_id",
                    "id"]
    list_display_links = ["created_at", "customer_email"]
    list_filter = ["status", "created_at", "provider"]
    search_fields = ["customer_email", "id", "=provider_charge_id", "user_id"]
    date_hierarchy = "created_at"
    fields = ["id", "status", "amount", "currency", "customer_email", "user_id", "created_at", "provider",
              "provider_charge_id", "failure_code", "refunded_at", "refunded_by_email", "refunded_by_id",
              "updated_at"]
    inlines = [PaymentItemInline]
    actions = ["refund_selected"]
    show_full_result_count = False

    def has_refund_permission(self, request, obj=None):
        return request.user.has_perm("payments.change_payment")

    def get_urls(self):
        return [
            path("<path:object_id>/refund/", self.admin_site.admin_view(self.refund_view),
                 name="payments_payment_refund"),
            *super().get_urls(),
        ]

    def change_view(self, request, object_id, form_url="", extra_context=None):
        extra_context = {**(extra_context or {}),
                         "has_refund_permission": self.has_refund_permission(request)}
        return super().change_view(request, object_id, form_url, extra_context)

    @admin.action(description="Refund selected payments…", permissions=["refund"])
    def refund_selected(self, request, queryset):
        return self._confirm_refund(request, queryset, action="refund_selected",
                                    cancel_url=reverse("admin:payments_payment_changelist"))

    def refund_view(self, request, object_id):
        if not self.has_refund_permission(request):
            raise PermissionDenied
        payment = self.get_object(request, unquote(object_id))
        if payment is None:
            raise Http404
        change_url = reverse("admin:payments_payment_change", args=[payment.pk])
        return self._confirm_refund(request, Payment.objects.filter(pk=payment.pk), action=None,
                                    cancel_url=change_url) or HttpResponseRedirect(change_url)

    def _confirm_refund(self, request, queryset, *, action, cancel_url):
        """The confirmation page; once confirmed, refund each payment and answer None."""
        if request.method != "POST" or request.POST.get("confirm") != "yes":
            return TemplateResponse(request, "admin/payments/refund_confirmation.html", {
                **self.admin_site.each_context(request),
                "title": "Refund payments?", "opts": self.opts, "cancel_url": cancel_url,
                "payments": queryset.prefetch_related("items"), "action": action,
                "action_checkbox_name": ACTION_CHECKBOX_NAME,
            })
        actor = services.Actor(id=request.user.pk, email=request.user.email)
        restock = request.POST.get("restock") == "1"
        for payment in queryset:
            try:
                services.refund_payment(payment.pk, restock=restock, actor=actor)
            except DomainError as error:
                self.message_user(request, f"Payment {payment.pk}: {error.detail}", messages.ERROR)
            else:
                restocked = " and its units put back on hand" if restock else ""
                self.message_user(request, f"Payment {payment.pk} refunded{restocked}.", messages.SUCCESS)
        return None


@admin.register(IdempotencyKey)
class IdempotencyKeyAdmin(ReadOnlyAdmin):
    list_display = ["created_at", "key", "user_id", "status", "response_status", "payment_id", "expires_at"]
    list_filter = ["status", "created_at"]
    search_fields = ["=key", "user_id", "payment__id"]
    exclude = ["response_body"]
    ordering = ["-created_at"]
    show_full_result_count = False


admin.site.register(OutboxEvent, OutboxEventAdmin)
