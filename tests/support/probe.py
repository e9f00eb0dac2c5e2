"""A test-only event type and handler, for exercising the event plumbing with real processes.

`payments.probe` (published on `payments.events`) is handled by inventory. Its effect, one
`effect:<event id>:<random>` row per application, is NOT idempotent by itself: the plumbing's
record of processed ids is what must keep it to one row per event.
"""

import sys
import time
import types
import uuid
from dataclasses import dataclass
from importlib import import_module

from django.apps import AppConfig

from apps.common.events.envelope import EventData, reading

PROBE_TYPE = "payments.probe"
BROKEN: set[str] = set()  # event ids whose handling fails (in this process) until removed


@dataclass(frozen=True)
class Probe(EventData):
    """`{"sleep": seconds}`: how long handling it takes (other keys are ignored)."""

    TYPE = PROBE_TYPE

    sleep: float = 0.0

    def to_data(self) -> dict:
        return {"sleep": self.sleep}

    @classmethod
    def from_data(cls, data) -> "Probe":
        with reading(cls.TYPE):
            return cls(float(data.get("sleep", 0)))


def handle_probes(events) -> None:
    from apps.inventory.models import ProcessedEvent

    for event in events:
        if event.id in BROKEN:
            raise RuntimeError("probe handler told to fail")
        time.sleep(event.data.sleep)
    ProcessedEvent.objects.using("inventory").bulk_create(
        ProcessedEvent(event_id=f"effect:{event.id}:{uuid.uuid4()}", type="probe.effect") for event in events
    )


def effects(event_id=None) -> dict[str, int]:
    """How many times each probe event was applied."""
    from apps.inventory.models import ProcessedEvent

    counts: dict[str, int] = {}
    rows = ProcessedEvent.objects.using("inventory").filter(type="probe.effect")
    if event_id:
        rows = rows.filter(event_id__startswith=f"effect:{event_id}:")
    for row_id in rows.values_list("event_id", flat=True):
        source = row_id.split(":")[1]
        counts[source] = counts.get(source, 0) + 1
    return counts


def install() -> dict:
    """Add the probe handler to inventory's HANDLERS; return the previous HANDLERS to restore."""
    name = "apps.inventory.handlers"
    try:
        module = import_module(name)
    except ModuleNotFoundError:
        module = sys.modules.setdefault(name, types.ModuleType(name))
    previous = getattr(module, "HANDLERS", {})
    module.HANDLERS = {**previous, Probe: handle_probes}
    return previous


def uninstall(previous: dict) -> None:
    sys.modules["apps.inventory.handlers"].HANDLERS = previous


class ProbeConfig(AppConfig):
    """Installed by `tests.support.probe_settings`, so child processes handle probes too."""

    name = "tests.support.probe"
    label = "probe"

    def ready(self):
        install()
