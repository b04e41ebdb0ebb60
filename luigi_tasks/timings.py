"""Task timings: what every task of a run did and how long it took, as small JSON documents in the lake.

Importing this module registers Luigi event handlers (``luigi_tasks.nightly`` imports it, so every run of the
nightly DAG records its tasks). For each task that runs, one document is written at
``runs/run_date=D/tasks/<task_id>.json`` (:meth:`lake.paths.LakeLayout.run_task`)::

    {"task_id": "ContactWashing_2026_11_27_5f1c", "family": "ContactWashing",
     "params": {"date": "2026-11-27"}, "run_date": "2026-11-27", "status": "done",
     "start": "2026-11-28T02:10:04.120Z", "end": "2026-11-28T02:11:31.877Z", "seconds": 87.757}

``status`` is ``running`` from the moment the task starts, then ``done`` or ``failed`` (a task killed by a
timeout or a dead worker process is marked ``failed`` by the scheduling process). Only significant, public
parameters are kept, so nothing private (credentials never are parameters anyway) reaches the lake; a rerun
of the same task overwrites its document.

The run day D of a task is its ``date`` parameter; a task without one (an activity range) takes the day of
the first task of this process that required it, else the latest of its own date parameters. Recording never
fails a task: a lake that cannot be written costs a warning, not the night.
"""

from __future__ import annotations

import datetime as dt
import logging
import time
from typing import Any

import luigi

from luigi_tasks.config import configured_lake

log = logging.getLogger("luigi-interface")

RUNNING, DONE, FAILED = "running", "done", "failed"

# Start times of the tasks this process runs (a worker process runs its task from START to SUCCESS/FAILURE).
_started: dict[str, float] = {}
# Run day of a task without its own ``date``, learnt from the task that required it (the scheduling
# process discovers dependencies before it forks the workers, which inherit this map).
_required_on: dict[str, dt.date] = {}


def _utc(epoch: float) -> str:
    return dt.datetime.fromtimestamp(epoch, dt.UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _dates(task: luigi.Task) -> list[dt.date]:
    return [v for _, v in task.param_kwargs.items() if isinstance(v, dt.date) and not isinstance(v, dt.datetime)]


def run_date_of(task: luigi.Task) -> dt.date:
    """The data day a task works for (see the module doc); today (UTC) for a task with no date at all."""
    own = task.param_kwargs.get("date")
    if isinstance(own, dt.date):
        return own if not isinstance(own, dt.datetime) else own.date()
    if task.task_id in _required_on:
        return _required_on[task.task_id]
    dates = _dates(task)
    return max(dates) if dates else dt.datetime.now(dt.UTC).date()


def timing_document(task: luigi.Task, status: str, start: float | None, end: float | None) -> dict[str, Any]:
    """The JSON document of one task (the module doc shows its fields)."""
    return {
        "task_id": task.task_id,
        "family": task.get_task_family(),
        "params": task.to_str_params(only_significant=True, only_public=True),
        "run_date": run_date_of(task).isoformat(),
        "status": status,
        "start": _utc(start) if start is not None else None,
        "end": _utc(end) if end is not None else None,
        "seconds": round(end - start, 3) if start is not None and end is not None else None,
    }


def _record(task: luigi.Task, status: str, start: float | None, end: float | None) -> None:
    try:
        lake = configured_lake()
        url = lake.layout.run_task(run_date_of(task), task.task_id)
        if start is None:  # finished in another process (a killed worker): its start is in the lake
            start_text = (lake.read_json(url, default=None) or {}).get("start")
            start = dt.datetime.fromisoformat(start_text.replace("Z", "+00:00")).timestamp() if start_text else None
        lake.write_json(url, timing_document(task, status, start, end))
    except Exception as exc:  # a timing is never worth a failed night
        log.warning("could not record the timing of %s: %s", task.task_id, " ".join(str(exc).split())[:300])


@luigi.Task.event_handler(luigi.Event.DEPENDENCY_DISCOVERED)
def _on_dependency(task: luigi.Task, dependency: luigi.Task) -> None:
    if "date" not in dependency.param_kwargs and dependency.task_id not in _required_on:
        _required_on[dependency.task_id] = run_date_of(task)


@luigi.Task.event_handler(luigi.Event.START)
def _on_start(task: luigi.Task) -> None:
    # A task that yields dynamic dependencies starts again once they are done: the last start counts.
    _started[task.task_id] = time.time()
    _record(task, RUNNING, _started[task.task_id], None)


@luigi.Task.event_handler(luigi.Event.SUCCESS)
def _on_success(task: luigi.Task) -> None:
    _record(task, DONE, _started.pop(task.task_id, None), time.time())


@luigi.Task.event_handler(luigi.Event.FAILURE)
def _on_failure(task: luigi.Task, exception: BaseException) -> None:
    _record(task, FAILED, _started.pop(task.task_id, None), time.time())


@luigi.Task.event_handler(luigi.Event.PROCESS_FAILURE)
@luigi.Task.event_handler(luigi.Event.TIMEOUT)
def _on_killed(task: luigi.Task, message: str) -> None:
    _record(task, FAILED, _started.pop(task.task_id, None), time.time())
