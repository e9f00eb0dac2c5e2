"""CloudEvents 1.0 envelopes and the handler registry.

An app that reacts to events declares `HANDLERS = {"<type>": handler}` in `apps/<app>/events.py`.
A handler takes a `CloudEvent`, writes only to its own app's database, and is called inside that
database's transaction together with the record that makes it idempotent (see
`apps.common.outbox.apply_event`).
"""

import json
import uuid
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from importlib import import_module

from config.service_apps import served_apps

SPECVERSION = "1.0"
Handler = Callable[["CloudEvent"], None]


class InvalidEvent(ValueError):
    """A message that is not a CloudEvent this system understands (a poison message)."""


@dataclass(frozen=True)
class CloudEvent:
    type: str
    source: str
    data: dict
    id: str = field(default_factory=lambda: str(uuid.uuid4()))
    time: str = field(default_factory=lambda: datetime.now(UTC).isoformat().replace("+00:00", "Z"))
    specversion: str = SPECVERSION
    datacontenttype: str = "application/json"
    subject: str | None = None
    # W3C trace context, a CloudEvents extension attribute, so one trace spans the Kafka hop.
    traceparent: str | None = None

    def to_dict(self) -> dict:
        return {key: value for key, value in asdict(self).items() if value is not None}

    def to_json(self) -> bytes:
        return json.dumps(self.to_dict(), separators=(",", ":"), default=str).encode()

    @classmethod
    def from_dict(cls, document: dict) -> "CloudEvent":
        if not isinstance(document, dict):
            raise InvalidEvent("a CloudEvent is a JSON object")
        missing = [name for name in ("id", "source", "type", "specversion") if not document.get(name)]
        if missing:
            raise InvalidEvent(f"missing CloudEvent attributes: {', '.join(missing)}")
        if document["specversion"] != SPECVERSION:
            raise InvalidEvent(f"unsupported specversion {document['specversion']!r}")
        if not isinstance(document.get("data"), dict):
            raise InvalidEvent("data must be a JSON object")
        known = cls.__dataclass_fields__.keys()
        return cls(**{key: value for key, value in document.items() if key in known})

    @classmethod
    def from_json(cls, raw: bytes | str) -> "CloudEvent":
        try:
            document = json.loads(raw)
        except (TypeError, ValueError) as exc:
            raise InvalidEvent(f"not JSON: {exc}") from None
        return cls.from_dict(document)


def topic_for(event_type: str) -> str:
    """`payments.purchase_completed` is published on `payments.events`."""
    return app_topic(event_type.split(".", 1)[0])


def app_topic(app: str) -> str:
    """The topic an app publishes all its events on."""
    return f"{app}.events"


def handlers_for(app: str) -> dict[str, Handler]:
    try:
        module = import_module(f"apps.{app}.events")
    except ModuleNotFoundError as exc:
        if exc.name != f"apps.{app}.events":
            raise
        return {}
    return getattr(module, "HANDLERS", {})


def subscribers(event_type: str) -> list[str]:
    """The apps served here that handle `event_type`."""
    return [app for app in served_apps() if event_type in handlers_for(app)]


def topics_consumed_by(app: str) -> list[str]:
    return sorted({topic_for(event_type) for event_type in handlers_for(app)})
