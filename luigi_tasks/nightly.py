"""The whole nightly run for one data day, as one Luigi wrapper task: the DAG at a glance.

    ExtractAll(D)  ->  ContactsSnapshot(D)  ->  ContactWashing(D) ... CampaignResponses(D)   (Spark, one night)
                                             ->  GatePayload(p, D)  ->  LoadPayload(p, D)    for each pipeline p

Run it with ``scc nightly --date D`` or ``luigi --module luigi_tasks.nightly Nightly --date D``. Each pipeline's
load requires its gate and the gate its payload, and nothing else of another pipeline: a failed gate or load
stops only its own pipeline (Luigi runs every task whose requirements are done). Run-wide switches
(``--full-refresh``, ``--approve-initial-load``) are settings, not parameters of ``Nightly``, so they never change
a task's identity: they reach the tasks as insignificant parameters or through :mod:`luigi_tasks.config`.

After a build, :func:`pipeline_failures` reads Luigi's result into one line per pipeline that did not load, and
:func:`write_night_report` writes the night's report (``quality.report``); ``scc nightly`` and ``scc backfill``
call both whatever the outcome.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from typing import Any

import luigi

from contract.objects import PIPELINES
from luigi_tasks import timings  # noqa: F401  (registers the handlers that record every task's timing)
from luigi_tasks.config import approve_initial_load, full_refresh
from luigi_tasks.extract import DataDayParameter, ExtractAll
from luigi_tasks.load import LoadPayload
from luigi_tasks.spark_tasks import CampaignResponses, ContactWashing, HardBounces, LeadScoring

PIPELINE_TASKS = (ContactWashing, HardBounces, LeadScoring, CampaignResponses)


class Nightly(luigi.WrapperTask):
    """Every dataset one night produces for data day ``date``: the raw zone, the snapshot, the four payloads,
    their gates and their loads into Eloqua."""

    date = DataDayParameter()

    def requires(self) -> Iterator[luigi.Task]:
        yield ExtractAll(date=self.date, full_refresh=full_refresh())
        approved = approve_initial_load()
        for pipeline in PIPELINES:
            yield LoadPayload(pipeline=pipeline, date=self.date, approve_initial_load=approved)


def _pipeline_of(task: luigi.Task) -> str | None:
    """The pipeline a task belongs to (its ``pipeline`` parameter or its Spark job), None for shared tasks."""
    pipeline = task.param_kwargs.get("pipeline")
    if pipeline in PIPELINES:
        return str(pipeline)
    job = getattr(task, "job", None)
    return str(job) if job in PIPELINES else None


def failed_tasks(result: Any) -> list[luigi.Task]:
    """The tasks Luigi's result reports failed (their own failure, not a failed requirement's)."""
    if result is None or getattr(result, "worker", None) is None:
        return []
    from luigi.execution_summary import _summary_dict  # the sets luigi's own summary is printed from

    summary = _summary_dict(result.worker)
    tasks = set(summary.get("failed", set())) | set(summary.get("scheduling_error", set()))
    return sorted(tasks, key=lambda t: t.task_id)


def pipeline_failures(result: Any, day: dt.date) -> dict[str, str]:
    """One line per pipeline whose load of ``day`` is not done: which failed tasks stopped it.

    A failed task of the pipeline itself (its payload, gate or load) names the pipeline; a failed shared task
    (an extract, the snapshot) stops every pipeline still without its receipt; a pipeline with neither did not
    run (missing data, another worker holding its tasks)."""
    failed = failed_tasks(result)
    lines: dict[str, str] = {}
    for pipeline in PIPELINES:
        if LoadPayload(pipeline=pipeline, date=day).complete():
            continue
        own = [t for t in failed if _pipeline_of(t) == pipeline]
        shared = [t for t in failed if _pipeline_of(t) is None]
        culprits = own or shared
        what = ("failed: " + ", ".join(repr(t) for t in culprits)) if culprits else "not run"
        lines[pipeline] = f"{pipeline} {day.isoformat()}: not loaded; {what}"
    return lines


def write_night_report(day: dt.date) -> str:
    """Write the report of ``day`` into the run's lake (``quality.report``) and return its URL."""
    from luigi_tasks.config import configured_lake, s3_settings
    from quality.report import write_report

    lake = configured_lake()
    return write_report(lake.url, day, s3_settings() if lake.layout.is_s3 else None)
