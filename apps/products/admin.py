"""Admin for this app; imported by config.urls only where the app is served."""

from django.contrib import admin
from django.utils.html import format_html

from apps.products import catalogue_cache
from apps.products.models import Category, Product


class InvalidatesCatalogueCache:
    """Admin writes reach the public catalogue on its next read, like API writes."""

    def save_model(self, request, obj, form, change):
        super().save_model(request, obj, form, change)
        catalogue_cache.invalidate_on_commit()

    def delete_model(self, request, obj):
        super().delete_model(request, obj)
        catalogue_cache.invalidate_on_commit()

    def delete_queryset(self, request, queryset):
        super().delete_queryset(request, queryset)
        catalogue_cache.invalidate_on_commit()


@admin.register(Category)
class CategoryAdmin(InvalidatesCatalogueCache, admin.ModelAdmin):
    list_display = ("tree", "slug", "path")
    search_fields = ("name", "slug")
    prepopulated_fields = {"slug": ("name",)}
    autocomplete_fields = ("parent",)
    ordering = ("path",)

    @admin.display(description="category", ordering="path")
    def tree(self, category):
        # Depth-first order plus indentation shows the tree without a query per row.
        return format_html('<span style="padding-left: {}em">{}</span>', 1.5 * category.depth, category.name)


@admin.register(Product)
class ProductAdmin(InvalidatesCatalogueCache, admin.ModelAdmin):
    list_display = ("sku", "name", "price", "currency", "status", "category", "in_stock", "updated_at")
    list_editable = ("price",)
    list_filter = ("status", "in_stock", "category")
    list_select_related = ("category",)
    search_fields = ("name", "sku")
    autocomplete_fields = ("category",)
    readonly_fields = ("id", "in_stock", "created_at", "updated_at")
    show_full_result_count = False  # no second COUNT over a large catalogue
