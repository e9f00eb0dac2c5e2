"""The Celery app. Its broker is Redis (CELERY_BROKER_URL); Kafka carries only domain events.

A worker also runs the event consumers of the apps this process serves (a bootstep), so
`celery -A config worker` is all a deployment starts to apply events.
"""

import os

from celery import Celery, bootsteps, signals

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

app = Celery("shop")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


@signals.celeryd_init.connect
def forget_samples_of_earlier_runs(**kwargs):
    """The chart's metrics directory (an emptyDir) outlives a container restart: the files of an
    earlier run's processes would be added to this run's. This process's own (it may already
    have written) stay."""
    directory = os.environ.get("PROMETHEUS_MULTIPROC_DIR")
    if directory and os.path.isdir(directory):
        for name in os.listdir(directory):
            if not name.endswith(f"_{os.getpid()}.db"):
                os.remove(os.path.join(directory, name))


@signals.worker_init.connect
def start_metrics_exporter(**kwargs):
    """A worker has no HTTP endpoint: its metrics are served on METRICS_PORT (default 9100)."""
    from apps.common import metrics

    metrics.start_exporter()


@signals.worker_process_shutdown.connect
def forget_exited_pool_process(pid=None, **kwargs):
    from apps.common import metrics

    metrics.mark_process_dead(pid)


class EventConsumersStep(bootsteps.StartStopStep):
    """Starts one Kafka consumer thread per served app that handles events; stops them on shutdown."""

    requires = {"celery.worker.components:Pool"}

    def __init__(self, worker, **kwargs):
        super().__init__(worker, **kwargs)
        self.consumers = []
        self.threads = []

    def start(self, worker):
        from django.conf import settings

        if not settings.KAFKA_BOOTSTRAP_SERVERS:
            return  # embedded mode: events reach their handlers in-process after commit
        from apps.common.consumers import EventConsumer, consuming_apps, start_in_threads

        self.consumers = [EventConsumer(app_name) for app_name in consuming_apps()]
        self.threads = start_in_threads(self.consumers)

    def stop(self, worker):
        for consumer in self.consumers:
            consumer.stop()
        for thread in self.threads:
            thread.join(timeout=15)


app.steps["worker"].add(EventConsumersStep)
