from django.urls import path

from apps.products.rest import views

urlpatterns = [
    path("categories", views.CategoryListView.as_view(), name="categories"),
    path("products", views.ProductListView.as_view(), name="products"),
    path("products/<uuid:product_id>", views.ProductDetailView.as_view(), name="product"),
]
