"""Admin for this app; imported by config.urls only where the app is served.

Stock changes only through the services (ledger + event), so the stock pages are read-only and
the changes are actions with a small form. Products are shown and searched by the SKU and name
the stock record keeps from the product events: no call to products per row.
"""

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.db.models import F, Q
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils.html import format_html

from apps.common.admin import OutboxEventAdmin, ProcessedEventAdmin, ReadOnlyAdmin, ReadOnlyAdminMixin
from apps.common.api.errors import DomainError
from apps.inventory import services
from apps.inventory.errors import ZeroAdjustment
from apps.inventory.models import (
    MAX_UNITS,
    LedgerEntry,
    OutboxEvent,
    ProcessedEvent,
    Reservation,
    ReservationLine,
    SaleShortfall,
    StockRecord,
)
from apps.products import interface as products


class LowStockFilter(admin.SimpleListFilter):
    title = "stock level"
    parameter_name = "low_stock"

    def lookups(self, request, model_admin):
        return [("yes", "At or under threshold"), ("no", "Above threshold")]

    def queryset(self, request, queryset):
        # As `selectors.low_stock`: a deactivated product is not restocked, so it is not low.
        low = Q(available_units__lte=F("low_stock_threshold")) & ~Q(product_status="inactive")
        if self.value() == "yes":
            return queryset.filter(low)
        if self.value() == "no":
            return queryset.exclude(low)
        return queryset


class LedgerEntryInline(ReadOnlyAdminMixin, admin.TabularInline):
    model = LedgerEntry
    fields = ["created_at", "kind", "delta", "on_hand_after", "reason", "reference", "actor_email",
              "actor_id"]
    readonly_fields = fields
    ordering = ["-created_at"]
    extra = 0


class AdjustStockForm(forms.Form):
    delta = forms.IntegerField(min_value=-MAX_UNITS, max_value=MAX_UNITS,
                               help_text="Units to add (positive) or remove (negative).")
    reason = forms.CharField(max_length=255)

    def clean_delta(self):
        try:
            return services.check_delta(self.cleaned_data["delta"])
        except ZeroAdjustment as error:
            raise forms.ValidationError(error.detail) from None


class ThresholdForm(forms.Form):
    low_stock_threshold = forms.IntegerField(min_value=0, max_value=MAX_UNITS)


class NewStockForm(forms.ModelForm):
    """The first units of a product the catalogue knows (checked through its interface) whose
    record its product event has not made yet, as a ledger adjustment."""

    on_hand = forms.IntegerField(min_value=1, max_value=MAX_UNITS, label="Units on hand")
    reason = forms.CharField(max_length=255, initial="initial stock")

    class Meta:
        model = StockRecord
        fields = ["product_id"]
        help_texts = {"product_id": "The product's id, as the catalogue shows it."}

    def clean_product_id(self):
        product_id = self.cleaned_data["product_id"]
        self.product = products.get_products([product_id]).get(product_id)
        if self.product is None:
            raise forms.ValidationError("The catalogue has no product with this id.")
        return product_id


@admin.register(StockRecord)
class StockRecordAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ["product", "name", "product_status", "on_hand", "reserved", "available",
                    "low_stock_threshold", "updated_at"]
    list_filter = [LowStockFilter, "product_status"]
    search_fields = ["sku", "name", "product_id"]
    fields = ["product_id", "sku", "name", "product_status", "on_hand", "reserved", "low_stock_threshold",
              "updated_at"]
    inlines = [LedgerEntryInline]
    actions = ["adjust_stock", "set_low_stock_threshold"]

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(available_units=F("on_hand") - F("reserved"))

    def has_add_permission(self, request, obj=None):
        return request.user.has_perm("inventory.add_stockrecord")

    def get_form(self, request, obj=None, change=False, **kwargs):
        if obj is None:
            return NewStockForm
        return super().get_form(request, obj, change, **kwargs)

    def changeform_view(self, request, object_id=None, form_url="", extra_context=None):
        if object_id is None:
            # The add form asks products whether the product exists, which it may not do inside
            # an inventory transaction (the admin's default); the service opens its own.
            return self._changeform_view(request, object_id, form_url, extra_context)
        return super().changeform_view(request, object_id, form_url, extra_context)

    def get_fields(self, request, obj=None):
        return list(NewStockForm.base_fields) if obj is None else super().get_fields(request, obj)

    @admin.display(description="SKU", ordering="sku")
    def product(self, record):
        return record.sku or record.product_id  # a record made before its product's event

    def get_inlines(self, request, obj):
        return self.inlines if obj is not None else []  # a new record has no ledger yet

    def save_model(self, request, obj, form, change):
        # Through the service, so the first units have their ledger entry and event too.
        services.create_stock_record(form.product, form.cleaned_data["on_hand"], form.cleaned_data["reason"],
                                     actor_id=request.user.pk, actor_email=request.user.email)

    @admin.display(ordering="available_units")
    def available(self, record):
        return record.available_units

    def has_adjust_permission(self, request):
        """Changing stock needs the change permission, though no form edits a record directly."""
        return request.user.has_perm("inventory.change_stockrecord")

    @admin.action(description="Adjust stock of the selected products…", permissions=["adjust"])
    def adjust_stock(self, request, queryset):
        def apply(record, data):
            services.adjust_stock(record.product_id, data["delta"], data["reason"], actor_id=request.user.pk,
                                  actor_email=request.user.email)

        return self._with_form(request, queryset, AdjustStockForm, apply, "Adjust stock")

    @admin.action(description="Set the low-stock threshold of the selected products…", permissions=["adjust"])
    def set_low_stock_threshold(self, request, queryset):
        def apply(record, data):
            services.set_low_stock_threshold(record.product_id, data["low_stock_threshold"])

        return self._with_form(request, queryset, ThresholdForm, apply, "Set low-stock threshold")

    def _with_form(self, request, queryset, form_class, apply, title):
        """Show `form_class` for the selected records; once submitted, `apply` it to each."""
        form = form_class(request.POST if "apply" in request.POST else None)
        if not form.is_valid():
            return TemplateResponse(request, "admin/inventory/stock_action.html", {
                **self.admin_site.each_context(request),
                "title": title, "form": form, "records": queryset, "opts": self.model._meta,
                "action": request.POST["action"], "action_checkbox_name": ACTION_CHECKBOX_NAME,
            })
        refused = []
        for record in queryset:
            try:
                apply(record, form.cleaned_data)
            except DomainError as exc:
                refused.append(f"{record}: {exc.detail}")
        done = len(queryset) - len(refused)
        self.message_user(request, f"{title}: {done} product(s) changed.", messages.SUCCESS)
        for reason in refused:
            self.message_user(request, reason, messages.ERROR)
        return None


@admin.register(LedgerEntry)
class LedgerEntryAdmin(ReadOnlyAdmin):
    """Every change of `on_hand`, across products: who, what, why."""

    list_display = ["created_at", "sku", "name", "kind", "delta", "on_hand_after", "reason", "reference",
                    "actor_email"]
    list_filter = ["kind", "created_at"]
    list_select_related = ["stock"]
    search_fields = ["stock__sku", "stock__name", "stock__product_id", "reference", "actor_email"]
    date_hierarchy = "created_at"
    ordering = ["-created_at"]
    show_full_result_count = False

    @admin.display(description="SKU", ordering="stock__sku")
    def sku(self, entry):
        url = reverse("admin:inventory_stockrecord_change", args=[entry.stock_id])
        return format_html('<a href="{}">{}</a>', url, entry.stock.sku or entry.stock_id)

    @admin.display(ordering="stock__name")
    def name(self, entry):
        return entry.stock.name


class ReservationLineInline(ReadOnlyAdminMixin, admin.TabularInline):
    model = ReservationLine
    fields = ["product_id", "quantity"]
    readonly_fields = fields
    extra = 0


@admin.register(Reservation)
class ReservationAdmin(ReadOnlyAdmin):
    list_display = ["reference", "status", "expires_at", "created_at", "updated_at"]
    list_filter = ["status"]
    search_fields = ["reference"]
    inlines = [ReservationLineInline]


@admin.register(SaleShortfall)
class SaleShortfallAdmin(admin.ModelAdmin):
    """Sales stock could not cover (their reservation had lapsed): settle, then mark resolved."""

    list_display = ["reference", "product_id", "quantity", "available", "created_at", "resolved"]
    list_filter = ["resolved"]
    search_fields = ["reference", "product_id"]
    readonly_fields = ["reference", "product_id", "quantity", "available", "created_at"]
    actions = ["mark_resolved"]

    def has_add_permission(self, request):
        return False

    @admin.action(description="Mark the selected shortfalls resolved", permissions=["change"])
    def mark_resolved(self, request, queryset):
        self.message_user(request, f"{queryset.update(resolved=True)} shortfall(s) marked resolved.")


admin.site.register(OutboxEvent, OutboxEventAdmin)
admin.site.register(ProcessedEvent, ProcessedEventAdmin)
