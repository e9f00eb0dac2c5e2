from django.urls import path

from apps.inventory.rest import views

urlpatterns = [
    # Before the product routes, so nobody has to know that "low-stock" is not a UUID.
    path("inventory/low-stock", views.LowStockView.as_view(), name="inventory-low-stock"),
    path("inventory/<uuid:product_id>", views.StockView.as_view(), name="inventory-stock"),
    path("inventory/<uuid:product_id>/adjustments", views.AdjustmentsView.as_view(),
         name="inventory-adjustments"),
]
