from django.apps import AppConfig


class PaymentsConfig(AppConfig):
    name = "apps.payments"
    label = "payments"
    verbose_name = "Payments"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        from apps.payments.providers import get_provider
        from config.service_apps import is_served

        if is_served("payments"):
            get_provider()  # an unknown PAYMENT_PROVIDER stops start-up naming the variable
