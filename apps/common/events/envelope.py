"""The event envelope, its Kafka binding, the typed event contract and the handler registry.

The envelope is a CloudEvents 1.0 event of the official `cloudevents` SDK. On Kafka it follows
the CloudEvents Kafka protocol binding: produced in structured mode (`content-type:
application/cloudevents+json`, the whole event as JSON in the value, the aggregate id as key);
read in either mode (the SDK's auto-detection: `ce_` headers mean binary mode).

The contract: each publishing app declares its event types in `apps/<app>/event_types.py` as
frozen dataclasses deriving from `EventData`, with a `TYPE` constant and `to_data()` /
`from_data()`. The publisher emits through them; a consumer declares
`HANDLERS = {EventDataClass: handler}` in `apps/<app>/handlers.py`. A handler receives a list of
`Received` events of its type, in partition order, writes only to its own app's database, and
runs inside that database's transaction together with the records that make it idempotent (see
`apps.common.events.outbox.apply_events`).
"""

import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from importlib import import_module
from typing import ClassVar, Generic, Self, TypeVar

from cloudevents.core.bindings import kafka as kafka_binding
from cloudevents.core.exceptions import BaseCloudEventException
from cloudevents.core.formats.json import JSONFormat
from cloudevents.core.v1.event import CloudEvent

from config.service_apps import DOMAIN_APPS, served_apps

__all__ = ["CloudEvent", "EventData", "InvalidEvent", "Received"]

FORMAT = JSONFormat()
DATA_CONTENT_TYPE = "application/json"
# W3C trace context, a CloudEvents extension attribute, so one trace spans the Kafka hop.
TRACEPARENT = "traceparent"


class InvalidEvent(ValueError):
    """A message that is not a CloudEvent this system understands (a poison message)."""


class EventData:
    """Base of the typed data of one event type (a frozen dataclass in `apps/<app>/event_types.py`)."""

    TYPE: ClassVar[str]

    def to_data(self) -> dict:
        raise NotImplementedError

    @classmethod
    def from_data(cls, data) -> Self:
        """The typed data of a received event; raises `InvalidEvent` when `data` does not fit."""
        raise NotImplementedError


@contextmanager
def reading(event_type: str) -> Iterator[None]:
    """Turn the errors of reading a payload (a missing key, a wrong type or value) into
    `InvalidEvent`, for `from_data`."""
    try:
        yield
    except (KeyError, TypeError, ValueError, ArithmeticError, AttributeError) as exc:
        raise InvalidEvent(f"{event_type}: invalid data: {exc!r}") from None


def strict_int(value) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"{value!r} is not an integer")
    return value


def strict_bool(value) -> bool:
    if not isinstance(value, bool):
        raise TypeError(f"{value!r} is not a boolean")
    return value


T = TypeVar("T", bound=EventData)


@dataclass(frozen=True)
class Received(Generic[T]):
    """An event as a handler gets it: the envelope's id and time, and its typed data."""

    id: str
    time: datetime
    data: T


Handler = Callable[[list[Received]], None]


# --- the envelope ----------------------------------------------------------------------------

def new_event(event_type: str, source: str, data: dict, *, subject: str | None = None,
              traceparent: str | None = None, **attributes) -> CloudEvent:
    """A new CloudEvent (id and time filled in by the SDK unless given)."""
    attributes = {"type": event_type, "source": source, "datacontenttype": DATA_CONTENT_TYPE,
                  **attributes}
    if isinstance(attributes.get("time"), str):
        attributes["time"] = datetime.fromisoformat(attributes["time"])
    if subject:
        attributes["subject"] = subject
    if traceparent:
        attributes[TRACEPARENT] = traceparent
    return CloudEvent(attributes, data)


def to_document(event: CloudEvent) -> dict:
    """The event as its JSON document (the CloudEvents JSON format), as the outbox stores it."""
    return json.loads(FORMAT.write(event))


def from_document(document: dict) -> CloudEvent:
    """The event an outbox row stores (`to_document`), without a JSON round trip."""
    with _invalid_event():
        attributes = dict(document)
        data = attributes.pop("data", None)
        if "time" in attributes:
            attributes["time"] = datetime.fromisoformat(attributes["time"])
        return CloudEvent(attributes, data)


def kafka_message(key: str, event: CloudEvent) -> tuple[bytes, bytes, list[tuple[str, bytes]]]:
    """(key, value, headers) to produce `event` in structured mode, keyed by its aggregate id
    `key`: `content-type: application/cloudevents+json` and no `ce_` header."""
    message = kafka_binding.to_structured(event, FORMAT, key_mapper=lambda _: key)
    return message.key.encode(), message.value, list(message.headers.items())


def parse_kafka_message(message) -> CloudEvent:
    """The CloudEvent a Kafka message (confluent-kafka's `Message`) carries, in structured or
    binary mode as the SDK auto-detects it; `InvalidEvent` when it carries none."""
    with _invalid_event():
        return kafka_binding.from_kafka(kafka_binding.KafkaMessage(
            headers=dict(message.headers() or ()), key=message.key(), value=message.value() or b"",
        ), FORMAT)


@contextmanager
def _invalid_event() -> Iterator[None]:
    try:
        yield
    except (BaseCloudEventException, ValueError, TypeError, AttributeError, KeyError) as exc:
        raise InvalidEvent(f"not a CloudEvent: {type(exc).__name__}: {exc}") from None


# --- the contract and the handlers -----------------------------------------------------------

def topic_for(event_type: str) -> str:
    """`payments.purchase_completed` is published on `payments.events`."""
    return app_topic(event_type.split(".", 1)[0])


def app_topic(app: str) -> str:
    """The topic an app publishes all its events on."""
    return f"{app}.events"


def _module(name: str):
    try:
        return import_module(name)
    except ModuleNotFoundError as exc:
        if exc.name != name:
            raise
        return None


def declared_types(app: str) -> dict[str, type[EventData]]:
    """The event types `app` publishes, by type name: the `EventData` classes of its
    `event_types` module."""
    module = _module(f"apps.{app}.event_types")
    if module is None:
        return {}
    return {
        value.TYPE: value for value in vars(module).values()
        if isinstance(value, type) and issubclass(value, EventData) and value.__module__ == module.__name__
    }


def is_declared(event_type: str) -> bool:
    publisher = event_type.split(".", 1)[0]
    return publisher in DOMAIN_APPS and event_type in declared_types(publisher)


def handlers_for(app: str) -> dict[str, tuple[type[EventData], Handler]]:
    """`app`'s handlers by event type name: (the type's data class, the handler)."""
    module = _module(f"apps.{app}.handlers")
    handlers = getattr(module, "HANDLERS", {}) if module is not None else {}
    return {event_class.TYPE: (event_class, handler) for event_class, handler in handlers.items()}


def subscribers(event_type: str) -> list[str]:
    """The apps served here that handle `event_type`."""
    return [app for app in served_apps() if event_type in handlers_for(app)]


def topics_consumed_by(app: str) -> list[str]:
    return sorted({topic_for(event_type) for event_type in handlers_for(app)})
