import os

from celery import Celery, signals

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

app = Celery("shop")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


@signals.worker_init.connect
def start_metrics_exporter(**kwargs):
    """A worker has no HTTP endpoint: its metrics are served on METRICS_PORT (default 9100)."""
    from apps.common import metrics

    metrics.start_exporter()


@signals.worker_process_shutdown.connect
def forget_exited_pool_process(pid=None, **kwargs):
    from apps.common import metrics

    metrics.mark_process_dead(pid)
