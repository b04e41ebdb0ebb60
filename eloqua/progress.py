"""Progress of one export or load: a tqdm bar on a terminal, otherwise a log line every few seconds (CronJob
logs).

    progress = progress_for("contacts /syncs/12")
    progress.start(total_rows)         # from the sync's totalResults (a load: the payload's rows)
    progress.update(rows)              # from any thread, once per page
    progress.close()

Thread-safe; ``NullProgress`` silences it.
"""

from __future__ import annotations

import logging
import sys
import threading
import time
from typing import IO, Protocol

log = logging.getLogger("eloqua.progress")


class Progress(Protocol):
    def start(self, total: int, done: int = 0) -> None:
        """Total rows of the export and the rows already present (resumed pages)."""

    def update(self, rows: int) -> None:
        """``rows`` more rows written."""

    def note(self, text: str) -> None:
        """What is going on right now (e.g. a Spark stage's tasks), shown beside the count."""

    def close(self) -> None:
        """The export ended (successfully or not)."""


class NullProgress:
    def start(self, total: int, done: int = 0) -> None:
        pass

    def update(self, rows: int) -> None:
        pass

    def note(self, text: str) -> None:
        pass

    def close(self) -> None:
        pass


def _duration(seconds: float) -> str:
    seconds = int(seconds)
    if seconds >= 3600:
        return f"{seconds // 3600}h{seconds % 3600 // 60:02d}m"
    if seconds >= 60:
        return f"{seconds // 60}m{seconds % 60:02d}s"
    return f"{seconds}s"


class LogProgress:
    """A log line at most every ``interval`` seconds: rows done/total, percent, rows/s, ETA; and a final
    line."""

    def __init__(self, label: str, interval: float = 5.0, logger: logging.Logger = log,
                 verb: str = "exporting", unit: str = "rows") -> None:
        self.label = label
        self.verb = verb
        self.unit = unit
        self._note = ""
        self.interval = interval
        self.logger = logger
        self.total = 0
        self.done = 0
        self._resumed = 0
        self._started = time.monotonic()
        self._last = self._started
        self._lock = threading.Lock()

    def start(self, total: int, done: int = 0) -> None:
        with self._lock:
            self.total, self.done, self._resumed = total, done, done
            self._started = self._last = time.monotonic()
        self.logger.info("%s: %s %d %s%s", self.label, self.verb, total, self.unit,
                         f" ({done} already written)" if done else "")

    def line(self, now: float | None = None) -> str:
        now = time.monotonic() if now is None else now
        elapsed = max(now - self._started, 1e-9)
        rate = (self.done - self._resumed) / elapsed
        pct = 100.0 * self.done / self.total if self.total else 100.0
        eta = _duration((self.total - self.done) / rate) if rate > 0 else "?"
        note = f" [{self._note}]" if self._note else ""
        return (f"{self.label}: {self.done}/{self.total} {self.unit} ({pct:.0f}%), {rate:,.0f} {self.unit}/s, "
                f"elapsed {_duration(elapsed)}, ETA {eta}{note}")

    def update(self, rows: int) -> None:
        with self._lock:
            self.done += rows
            now = time.monotonic()
            due = now - self._last >= self.interval
            if due:
                self._last = now
                text = self.line(now)
        if due:
            self.logger.info("%s", text)

    def note(self, text: str) -> None:
        with self._lock:
            self._note = text

    def close(self) -> None:
        with self._lock:
            self._note = ""
        self.logger.info("%s (done)", self.line())


class TqdmProgress:
    """A tqdm bar in rows (unit scaling, rate and ETA come from tqdm)."""

    def __init__(self, label: str, stream: IO[str] | None = None, unit: str = "rows") -> None:
        from tqdm import tqdm

        self._bar = tqdm(desc=label, unit=unit, unit_scale=unit == "rows", total=None, file=stream or sys.stderr,
                         dynamic_ncols=True, leave=True)
        self._lock = threading.Lock()

    def start(self, total: int, done: int = 0) -> None:
        with self._lock:
            self._bar.reset(total=total)
            if done:
                self._bar.update(done)

    def update(self, rows: int) -> None:
        with self._lock:
            self._bar.update(rows)

    def note(self, text: str) -> None:
        with self._lock:
            self._bar.set_postfix_str(text, refresh=True)

    def close(self) -> None:
        with self._lock:
            self._bar.close()


def progress_for(label: str, *, stream: IO[str] | None = None, interval: float = 5.0,
                 verb: str = "exporting", unit: str = "rows", logger: logging.Logger = log) -> Progress:
    """A bar when ``stream`` (default stderr) is a terminal, else periodic log lines (``verb`` names the work
    in the first one) to ``logger``."""
    stream = stream or sys.stderr
    try:
        tty = stream.isatty()
    except (AttributeError, ValueError):
        tty = False
    return TqdmProgress(label, stream, unit) if tty else LogProgress(label, interval, logger, verb, unit)
