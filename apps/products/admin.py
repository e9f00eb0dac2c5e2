"""Admin for this app; imported by config.urls only where the app is served.

Products are written through the services, so an admin edit emits `products.product_changed`
and reaches the catalogue cache like an API write; deleting one deactivates it, as the API's
DELETE does (payments and stock keep their history).
"""

from uuid import UUID

from django.contrib import admin, messages
from django.contrib.admin.utils import unquote
from django.http import HttpResponseRedirect
from django.urls import NoReverseMatch, reverse
from django.utils.html import format_html

from apps.common.admin import OutboxEventAdmin, ProcessedEventAdmin
from apps.common.api.errors import DATABASE_UNAVAILABLE, DomainError
from apps.inventory import interface as inventory
from apps.products import catalogue_cache, services
from apps.products.models import Category, OutboxEvent, ProcessedEvent, Product


@admin.register(Category)
class CategoryAdmin(admin.ModelAdmin):
    list_display = ("tree", "slug", "path")
    search_fields = ("name", "slug")
    prepopulated_fields = {"slug": ("name",)}
    autocomplete_fields = ("parent",)
    ordering = ("path",)

    @admin.display(description="category", ordering="path")
    def tree(self, category):
        # Depth-first order plus indentation shows the tree without a query per row.
        return format_html('<span style="padding-left: {}em">{}</span>', 1.5 * category.depth, category.name)

    def save_model(self, request, obj, form, change):
        super().save_model(request, obj, form, change)
        catalogue_cache.invalidate_on_commit()  # the catalogue shows categories on its next read

    def delete_model(self, request, obj):
        super().delete_model(request, obj)
        catalogue_cache.invalidate_on_commit()

    def delete_queryset(self, request, queryset):
        super().delete_queryset(request, queryset)
        catalogue_cache.invalidate_on_commit()


@admin.register(Product)
class ProductAdmin(admin.ModelAdmin):
    list_display = ("sku", "name", "price", "currency", "status", "in_stock", "category", "created_at")
    list_display_links = ("sku", "name")
    list_editable = ("price",)
    list_filter = ("status", "in_stock", "created_at", "category")
    list_select_related = ("category",)
    search_fields = ("name", "sku")
    autocomplete_fields = ("category",)
    readonly_fields = ("id", "in_stock", "created_at", "updated_at")
    actions = ("deactivate_selected",)
    show_full_result_count = False  # no second COUNT over a large catalogue
    delete_confirmation_template = "admin/products/product/deactivate_confirmation.html"

    def change_view(self, request, object_id, form_url="", extra_context=None):
        # Asked before the admin opens its products transaction: no call to another app inside it.
        extra_context = {**(extra_context or {}), **self._stock_context(unquote(object_id))}
        return super().change_view(request, object_id, form_url, extra_context)

    @staticmethod
    def _stock_context(object_id: str) -> dict:
        """What inventory holds of the product (one interface call) and its stock record's page."""
        try:
            product_id = UUID(object_id)
            stock = inventory.get_availability([product_id])[product_id]
        except ValueError:
            return {}
        # Inventory down, not reachable from here (split), or its database not answering (monolith).
        except (DomainError, *DATABASE_UNAVAILABLE):
            return {"stock_unavailable": True}
        try:
            url = reverse("admin:inventory_stockrecord_change", args=[product_id])
        except NoReverseMatch:  # inventory's admin is served by another process
            url = None
        return {"stock": stock, "stock_url": url}

    def get_actions(self, request):
        actions = super().get_actions(request)
        actions.pop("delete_selected", None)  # deactivate_selected takes its place
        return actions

    def save_model(self, request, obj, form, change):
        services.save_product(obj)

    def delete_model(self, request, obj):
        services.deactivate_product(obj.pk)

    def get_deleted_objects(self, objs, request):
        # Nothing is deleted: the product is deactivated and everything about it stays.
        return [], {}, set(), []

    def response_delete(self, request, obj_display, obj_id):
        self.message_user(request, f"{obj_display} was deactivated: it left the public catalogue; payments "
                                   "and stock keep it.", messages.SUCCESS)
        return HttpResponseRedirect(reverse("admin:products_product_changelist"))

    @admin.action(description="Deactivate selected products (take them out of the catalogue)",
                  permissions=["delete"])
    def deactivate_selected(self, request, queryset):
        for product_id in queryset.values_list("pk", flat=True):
            services.deactivate_product(product_id)
        self.message_user(request, f"Deactivated {len(queryset)} product(s).", messages.SUCCESS)


admin.site.register(OutboxEvent, OutboxEventAdmin)
admin.site.register(ProcessedEvent, ProcessedEventAdmin)
