from django.apps import AppConfig


class CommonConfig(AppConfig):
    name = "apps.common"
    label = "common"
    verbose_name = "Shared kernel"

    def ready(self):
        from apps.common.observability.metrics import create_event_label_sets
        from apps.common.observability.telemetry import configure_tracing

        configure_tracing()  # every process, before WSGI builds its middleware; no-op when off
        create_event_label_sets()
