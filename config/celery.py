"""The Celery app. Its broker is Redis (CELERY_BROKER_URL); Kafka carries only domain events.

A worker also runs, in threads started by bootsteps, the outbox relay loop of each publishing app
and the event consumers of the apps this process serves, so `celery -A config worker` is all a
deployment starts to move events.
"""

import os
import sys

from celery import Celery, bootsteps, signals

from config.startup import freeze_startup_objects

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

# Connection pools a forked process inherited: kept here, never used, closed or collected, because
# their sockets are the parent's sessions (closing or collecting one sends the server a Terminate).
_inherited_connection_pools: list[dict] = []


def _forget_inherited_connection_pools():
    """A prefork pool process opens its own PostgreSQL connection pool (Celery's Django fixup then
    finds none to close on worker_process_init), and the parent's sessions stay its own."""
    postgresql = sys.modules.get("django.db.backends.postgresql.base")
    if postgresql is not None and postgresql.DatabaseWrapper._connection_pools:
        _inherited_connection_pools.append(dict(postgresql.DatabaseWrapper._connection_pools))
        postgresql.DatabaseWrapper._connection_pools.clear()


os.register_at_fork(after_in_child=_forget_inherited_connection_pools)

app = Celery("shop")
app.config_from_object("config.startup:checked_settings", namespace="CELERY")  # Django's settings
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
    from apps.common.observability import metrics

    metrics.start_exporter()


@signals.worker_ready.connect
def freeze_after_start_up(**kwargs):
    """In the main process, whose threads run the relay loops and Kafka consumers."""
    freeze_startup_objects()


@signals.worker_process_shutdown.connect
def forget_exited_pool_process(pid=None, **kwargs):
    from apps.common.observability import metrics

    metrics.mark_process_dead(pid)


class EventLoopsStep(bootsteps.StartStopStep):
    """Starts, in threads, the relay loop of each served app that publishes events and, with Kafka,
    the consumer of each that handles events; stops them on shutdown. Relays run in embedded mode
    too: there the committing process applies its events itself, and the loop's polling catches
    what that missed."""

    requires = {"celery.worker.components:Pool"}

    def __init__(self, worker, **kwargs):
        super().__init__(worker, **kwargs)
        self.loops = []
        self.threads = []

    def start(self, worker):
        from django.conf import settings

        from apps.common.events.background import start_in_threads
        from apps.common.events.consumers import EventConsumer, consuming_apps
        from apps.common.events.relay import OutboxRelay, publishing_apps

        self.loops = [OutboxRelay(app_name) for app_name in publishing_apps()]
        if settings.KAFKA_BOOTSTRAP_SERVERS:  # embedded: events reach their handlers in-process
            self.loops += [EventConsumer(app_name) for app_name in consuming_apps()]
        self.threads = start_in_threads(self.loops)

    def stop(self, worker):
        for loop in self.loops:
            loop.stop()
        for thread in self.threads:
            thread.join(timeout=15)


app.steps["worker"].add(EventLoopsStep)
