from django.apps import AppConfig


class CommonConfig(AppConfig):
    name = "apps.common"
    label = "common"
    verbose_name = "Shared kernel"

    def ready(self):
        from apps.common import registry
        from apps.common.events import monitoring, outbox, relay
        from apps.common.observability.telemetry import configure_tracing

        registry.check_contracts()
        configure_tracing()  # every process, before WSGI builds its middleware; no-op when off
        monitoring.install()
        outbox.committed_in_process.connect(relay.relay_in_process, dispatch_uid="shop-relay-in-process")
