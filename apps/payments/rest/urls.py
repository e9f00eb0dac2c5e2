from django.urls import path

from apps.payments.rest import views

urlpatterns = [
    path("payments", views.PaymentListCreateView.as_view(), name="payments"),
    path("payments/<uuid:payment_id>", views.PaymentDetailView.as_view(), name="payment"),
    path("payments/<uuid:payment_id>/refund", views.PaymentRefundView.as_view(), name="payment-refund"),
    path("webhooks/payments/<str:provider>", views.PaymentWebhookView.as_view(), name="payment-webhook"),
]
