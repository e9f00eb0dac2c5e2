from django.apps import AppConfig


class InventoryConfig(AppConfig):
    name = "apps.inventory"
    label = "inventory"
    verbose_name = "Inventory"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        from apps.common.observability import metrics
        from apps.inventory import selectors

        metrics.ACTIVE_RESERVATIONS.measure = selectors.count_active_reservations
        metrics.LOW_STOCK_PRODUCTS.measure = selectors.count_low_stock
