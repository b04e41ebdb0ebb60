"""The operator's view of the nights: ``scc status`` (what is done for a day) and ``scc backfill`` (a range of days).

``status`` reads only the lake, never luigid, so it answers the same from a laptop, the CronJob or a pod with
no scheduler; for each pipeline and stage (the extracts it reads, the snapshot, the payload, the gate, the load)
it prints ``done``, ``failed`` or ``pending`` with the stage's lake path:

* done: the stage's output is published (``_SUCCESS``, the gate's ``_PASSED``, the load's receipt);
* failed: not done, and the gate's ``result.json`` says it failed, or the task timings of the day
  (``runs/run_date=D/tasks``, :mod:`luigi_tasks.timings`) record the stage's task as failed;
* pending: anything else (not run yet, running, or waiting for a failed stage before it).

``backfill`` runs :class:`luigi_tasks.nightly.Nightly` day after day, each night completely (loads included)
before the next is scheduled: a night's contacts increment starts after the previous snapshot, and its gate's
row-count guard sees the previous load. It stops at the first day that fails; rerunning the same range skips
the days already done (every task is complete) and resumes there.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from contract.objects import PIPELINES
from lake.storage import Lake
from spark.hard_bounces import BOUNCEBACK
from spark.lead_scoring import SCORED_ACTIVITY_TYPES

DONE, FAILED, PENDING = "done", "failed", "pending"
EXIT_ALL_DONE, EXIT_PENDING, EXIT_FAILED = 0, 4, 5

_SCORING = tuple(("activities", t) for t in SCORED_ACTIVITY_TYPES)
# What each pipeline's Spark job reads from the night's extract (luigi_tasks.spark_tasks.raw_requirements).
PIPELINE_EXTRACTS: dict[str, tuple[tuple[str, str], ...]] = {
    "contact_washing": (("contacts", ""),),
    "hard_bounces": (("contacts", ""), ("activities", BOUNCEBACK)),
    "lead_scoring": (("contacts", ""), *_SCORING),
    "campaign_responses": (("contacts", ""), ("custom_object", "campaign_responses"),
                           ("custom_object", "sfdc_campaigns"), *_SCORING),
}
PAYLOAD_FAMILIES = {"contact_washing": "ContactWashing", "hard_bounces": "HardBounces",
                    "lead_scoring": "LeadScoring", "campaign_responses": "CampaignResponses"}


@dataclass(frozen=True)
class Stage:
    pipeline: str
    name: str
    state: str
    url: str


def _timings(lake: Lake, day: dt.date) -> list[dict[str, Any]]:
    folder = lake.layout.run_tasks(day)
    fs, path = lake.fs_path(folder)
    import pyarrow.fs as pafs

    docs = []
    for info in fs.get_file_info(pafs.FileSelector(path, allow_not_found=True)):
        if info.type == pafs.FileType.File and info.base_name.endswith(".json"):
            try:
                docs.append(json.loads(lake.read_bytes(f"{folder}/{info.base_name}")))
            except (ValueError, OSError):
                continue  # a timing being rewritten: the next status reads it
    return docs


def _failed_task(docs: Iterable[dict[str, Any]], families: set[str], **params: str) -> bool:
    return any(doc.get("status") == "failed" and doc.get("family") in families
               and all((doc.get("params") or {}).get(k) == v for k, v in params.items()) for doc in docs)


def _state(done: bool, failed: bool) -> str:
    return DONE if done else FAILED if failed else PENDING


def status(lake: Lake, day: dt.date, pipelines: Iterable[str] = PIPELINES) -> list[Stage]:
    """Every stage of every pipeline of ``day`` with its state and lake path (see the module doc)."""
    layout, d = lake.layout, day.isoformat()
    docs = _timings(lake, day)
    stages: list[Stage] = []
    for pipeline in pipelines:
        for kind, name in PIPELINE_EXTRACTS[pipeline]:
            if kind == "contacts":
                url, label = layout.raw_contacts(day), "extract contacts"
                failed = _failed_task(docs, {"ExtractContacts"}, date=d)
            elif kind == "activities":
                url, label = layout.raw_activities(name, day), f"extract {name}"
                failed = _failed_task(docs, {"ExtractActivities", "ExtractActivityRange"}, activity_type=name)
            else:
                url, label = layout.raw_custom_object(name, day), f"extract {name}"
                failed = _failed_task(docs, {"ExtractCustomObject"}, object_name=name, date=d)
            stages.append(Stage(pipeline, label, _state(lake.is_complete(url), failed), url))
        snapshot = layout.staged_contacts(day)
        stages.append(Stage(pipeline, "snapshot", _state(lake.is_complete(snapshot),
                                                         _failed_task(docs, {"ContactsSnapshot"}, date=d)), snapshot))
        payload = layout.import_ready(pipeline, day)
        stages.append(Stage(pipeline, "payload", _state(
            lake.is_complete(payload), _failed_task(docs, {PAYLOAD_FAMILIES[pipeline]}, date=d)), payload))
        gate = layout.quality(pipeline, day)
        result = lake.read_json(f"{gate}/result.json", default=None) or {}
        gate_failed = result.get("success") is False or _failed_task(docs, {"GatePayload"}, pipeline=pipeline, date=d)
        stages.append(Stage(pipeline, "gate", _state(lake.exists(f"{gate}/_PASSED"), gate_failed), gate))
        receipt = layout.loaded_receipt(pipeline, day)
        stages.append(Stage(pipeline, "load", _state(
            lake.exists(receipt), _failed_task(docs, {"LoadPayload"}, pipeline=pipeline, date=d)), receipt))
    return stages


def status_exit_code(stages: Iterable[Stage]) -> int:
    states = {s.state for s in stages}
    return EXIT_FAILED if FAILED in states else EXIT_PENDING if PENDING in states else EXIT_ALL_DONE


def format_status(stages: list[Stage], day: dt.date) -> str:
    lines = [f"data day {day.isoformat()}"]
    for pipeline in dict.fromkeys(s.pipeline for s in stages):
        lines.append(pipeline)
        lines += [f"  {s.name:<28} {s.state:<8} {s.url}" for s in stages if s.pipeline == pipeline]
    return "\n".join(lines)


def days(start: dt.date, end: dt.date) -> list[dt.date]:
    """``start`` to ``end`` inclusive; a reversed range is a usage mistake, not an empty run."""
    if end < start:
        raise ValueError(f"--end {end.isoformat()} is before --start {start.isoformat()}: the range is reversed")
    return [start + dt.timedelta(days=n) for n in range((end - start).days + 1)]


def backfill(start: dt.date, end: dt.date, run_night: Callable[[dt.date], int],
             say: Callable[[str], None] = print) -> int:
    """Run the nights ``start``..``end`` in order with ``run_night(day) -> exit code``, each finished before the
    next starts; stop at the first that fails and return its code (0 when every night succeeded)."""
    todo = days(start, end)
    for number, day in enumerate(todo, 1):
        say(f"backfill: night {number}/{len(todo)}, data day {day.isoformat()}")
        code = run_night(day)
        if code:
            later = len(todo) - number
            say(f"backfill stopped at {day.isoformat()} (exit {code}); {later} later day(s) not run: "
                f"rerun the same range once it is fixed")
            return code
    return 0
