"""Following a submitted night: its driver (``jobs/night.py``) appends JSON lines to the file named by
``SCC_NIGHT_PROGRESS``; :class:`FollowNight` reads them while spark-submit runs and shows them as a bar of the
night's jobs with the running Spark stages' tasks beside it (a terminal), or as log lines (a CronJob's log).

luigi's ``SparkSubmitTask`` hands spark-submit's output over only once the application has ended, so this file
is the one way to see a night of many minutes move.
"""

from __future__ import annotations

import contextlib
import json
import logging
import os
import tempfile
import threading
from collections.abc import Iterator
from typing import Any

from eloqua.progress import Progress, progress_for
from jobs.night import PROGRESS_ENV

log = logging.getLogger("luigi-interface")


class FollowNight:
    """Reads the night's progress file every ``interval`` seconds into ``progress``."""

    def __init__(self, path: str, progress: Progress, interval: float = 0.5) -> None:
        self.path, self.progress, self.interval = path, progress, interval
        self._offset = 0
        self._started = False
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._follow, name="follow night", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread.is_alive():
            self._thread.join()
        self.read()  # the lines written between the last poll and the end of spark-submit
        self.progress.close()

    def _follow(self) -> None:
        while not self._stop.wait(self.interval):
            self.read()

    def read(self) -> None:
        try:
            with open(self.path, encoding="utf-8") as lines:
                lines.seek(self._offset)
                text = lines.read()
        except OSError:
            return
        complete = text[: text.rfind("\n") + 1]  # a line still being written is read next time
        self._offset += len(complete.encode("utf-8"))
        for line in complete.splitlines():
            with contextlib.suppress(ValueError):
                self.show(json.loads(line))

    def show(self, event: dict[str, Any]) -> None:
        if "total" in event:
            self._started = True
            self.progress.start(int(event["total"]))
        elif "done" in event and self._started:
            self.progress.note(f"{event['done']}: {event.get('exit')}")
            self.progress.update(1)
        elif "stages" in event:
            stages = ", ".join(f"stage {s} {done}/{tasks} tasks" for s, done, tasks in event["stages"])
            self.progress.note(f"{event.get('job')}: {stages}")


@contextlib.contextmanager
def followed_night(label: str, environment: dict[str, str]) -> Iterator[None]:
    """Within the block, a night submitted with ``environment`` (updated here) reports its progress."""
    handle, path = tempfile.mkstemp(prefix="scc-night-", suffix=".jsonl")
    os.close(handle)
    environment[PROGRESS_ENV] = path
    follower = FollowNight(path, progress_for(label, verb="running", unit="jobs"))
    follower.start()
    try:
        yield
    finally:
        follower.stop()
        with contextlib.suppress(OSError):
            os.unlink(path)
