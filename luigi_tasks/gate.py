"""The quality gate in Luigi: :class:`GatePayload` submits ``jobs/gate.py`` for one (pipeline, D).

It requires the pipeline's Spark task (the ``import_ready`` payload) and is complete once the gate wrote its
pass flag, ``quality/<pipeline>/run_date=D/_PASSED``: the load of (pipeline, D) requires it, so a failed gate
stops that pipeline's load and no other. The result JSON under the same folder is written pass or fail, and is
not the output, so a failed gate is never taken for done.

``approve_initial_load`` lets a pipeline's first load through (no receipt for any earlier day); it does not
change what the task produces, so it is insignificant: a rerun with it is the same task, re-run because the
flag is still missing, never complete because of the parameter itself.

The gate usually runs inside the night :class:`luigi_tasks.spark_tasks.ContactsSnapshot` submits
(``jobs/night.py``), which passes the approval of every GatePayload of the process; this task then finds its
flag written and returns at once, or submits its gate alone. Every submission that gates holds the resource
``scc_data_docs`` (1 unless luigid's ``[resources]`` says otherwise): each gate rebuilds the Data Docs index from
every run, so one at a time keeps every run listed.
"""

from __future__ import annotations

from typing import Any

import luigi
from luigi.contrib.external_program import ExternalProgramRunError

from contract.objects import PIPELINES
from jobs.gate import JOB, PASSED_FLAG
from jobs.night import gate_job
from luigi_tasks.spark_submit import DATA_DOCS_RESOURCE, approve_first_load
from luigi_tasks.spark_tasks import CampaignResponses, ContactWashing, HardBounces, LeadScoring, SparkJobTask
from luigi_tasks.targets import FileTarget

__all__ = ["DATA_DOCS_RESOURCE", "GateFailedError", "GatePayload", "failure_line"]
PAYLOAD_TASKS: dict[str, type[SparkJobTask]] = {
    t.job: t for t in (ContactWashing, HardBounces, LeadScoring, CampaignResponses)
}


class GateFailedError(RuntimeError):
    """A payload that failed its gate, or a gate that could not run: the job's one line."""


def failure_line(output: str, pipeline: str, date: str) -> str | None:
    """The gate job's own line in a spark-submit's output (Spark's logs around it are skipped)."""
    lines = [line.strip() for line in (output or "").splitlines()]
    verdict = [line for line in lines if line.startswith(f"{JOB} {pipeline} {date}:")]
    if verdict:
        return verdict[-1]
    # run_job's own lines: bad arguments or a missing input ("gate: ...", "missing input: ..."), other failures
    other = [line for line in lines if line.startswith((f"{JOB}:", f"{JOB} failed:", "missing input:"))]
    return f"gate of {pipeline} for {date} could not run: {other[-1]}" if other else None


class GatePayload(SparkJobTask):
    """``quality/<pipeline>/run_date=D``: the payload's checkpoint; complete only when it passed."""

    job = JOB

    pipeline = luigi.ChoiceParameter(choices=PIPELINES, description="the payload to check")
    approve_initial_load = luigi.BoolParameter(
        default=False, significant=False,
        description="let the pipeline's first load through (no receipt for an earlier day): no row-count guard")

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if self.approve_initial_load:
            # Reaches the gate whichever task's night runs it (the snapshot's, usually): see spark_submit.
            approve_first_load(self.pipeline, self.date)

    @property
    def night_job(self) -> str:
        return gate_job(self.pipeline)

    def requires(self) -> dict[str, Any]:
        return {"payload": PAYLOAD_TASKS[self.pipeline](date=self.date)}

    def output_url(self) -> str:
        return f"{self.layout.quality(self.pipeline, self.date)}/{PASSED_FLAG}"

    def output(self) -> luigi.Target:
        return FileTarget(self.lake, self.output_url())

    def run(self) -> None:
        try:
            super().run()
        except ExternalProgramRunError as exc:
            # spark-submit merges a Python driver's stderr into its stdout (PythonRunner): search both.
            output = "\n".join([exc.out or "", exc.err or ""])
            line = failure_line(output, self.pipeline, self.date.isoformat())
            if line is None:
                raise
            raise GateFailedError(line) from None
