"""Progress of long operator commands, written once: a tqdm bar when stderr is a terminal;
otherwise (cron, a Kubernetes Job, a log collector) a log line every LOG_EVERY_SECONDS and one at
the end, since a bar's redrawn lines would reach the logs as repeated, garbled lines."""

import logging
import sys
import time
from collections.abc import Iterable

from tqdm import tqdm

LOG_EVERY_SECONDS = 10.0
logger = logging.getLogger(__name__)


class LoggedProgress:
    """The part of tqdm's interface the commands use (update, iteration, `with`), as log lines."""

    def __init__(self, iterable: Iterable | None, total: int | None, desc: str, unit: str):
        self.iterable, self.desc, self.unit = iterable, desc, unit
        self.total = len(iterable) if total is None and hasattr(iterable, "__len__") else total
        self.done = 0
        self.logged_at = time.monotonic()

    def update(self, count: int = 1) -> None:
        self.done += count
        if time.monotonic() - self.logged_at >= LOG_EVERY_SECONDS:
            self._log()

    def __iter__(self):
        for item in self.iterable:
            yield item
            self.update()

    def __enter__(self):
        return self

    def __exit__(self, *exc_info):
        self._log()

    def _log(self) -> None:
        self.logged_at = time.monotonic()
        logger.info("%s: %s/%s %s", self.desc, self.done, self.total if self.total is not None else "?",
                    self.unit, extra={"done": self.done, "total": self.total})


def progress(iterable: Iterable | None = None, *, total: int | None = None, desc: str, unit: str,
             verbosity: int = 1, stream=None):
    """A progress reporter for `iterable` or `total` items; nothing at `--verbosity 0`."""
    stream = stream or sys.stderr
    if verbosity < 1 or stream.isatty():
        return tqdm(iterable, total=total, desc=desc, unit=unit, file=stream, disable=verbosity < 1)
    return LoggedProgress(iterable, total, desc, unit)
