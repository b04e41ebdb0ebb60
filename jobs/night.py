"""The night driver: the jobs of one data day D in one Spark application, so that the JVM start-up is paid once.

Runs, in dependency order and in the same SparkSession, each job of ``--jobs`` (default: the whole night,
:data:`NIGHT`): ``contacts_snapshot``, the four pipelines, then ``gate:<pipeline>`` for each. Each job is the
same ``main(argv)`` that ``spark-submit jobs/<name>.py`` runs by hand, so it writes and publishes its own atomic
output exactly as it does alone. Before a job runs, its output is looked up: a job whose output is already
published (``_SUCCESS``, or the gate's ``_PASSED``) and built from its inputs as they are now
(:mod:`lake.lineage`, the test the job's Luigi task applies) is skipped, so a rerun after a failure redoes only
what failed; after each job that succeeded the driver records the inputs it read. A failed job does not stop
the others; only the jobs downstream of it in this run are skipped.

The exit code is the one of the job named by ``--exit-for`` (default: the first of ``--jobs``), as its own
``jobs/<name>.py`` would have returned it (2 when it was skipped because its upstream failed here): the Luigi
task that submitted the night judges its own job, and the other tasks find their outputs published.

    spark-submit jobs/night.py --date 2026-11-27 --lake file:///srv/scc/lake \\
        [--jobs contacts_snapshot,lead_scoring,gate:lead_scoring] [--exit-for lead_scoring] \\
        [--full-refresh] [--approve-initial-load lead_scoring ...]

Prints one line per job (``night D: <job> ...``: skipped, or its exit code and seconds) and a last summary
line with the seconds spent before the first job (session start) and in the jobs. When ``SCC_NIGHT_PROGRESS``
names a file, the night also appends its progress there as JSON lines (the jobs to run, each job done, and every
second the running Spark stages' tasks): the Luigi task that submitted the night follows it to show a progress
bar, since spark-submit's own output reaches it only when the application ends.
"""

from __future__ import annotations

import argparse
import importlib
import json
import os
import sys
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any, cast

from contract.objects import PIPELINES
from jobs._common import EXIT_FAILED, EXIT_INPUT, EXIT_OK, InputError, JobContext, argument_parser, run_job
from lake import lineage

JOB = "night"
SNAPSHOT = "contacts_snapshot"
GATE_PREFIX = "gate:"
GATE_PASSED_FLAG = "_PASSED"  # jobs/gate.py's pass flag; not imported, so the night loads GE only if it gates
PROGRESS_ENV = "SCC_NIGHT_PROGRESS"


def gate_job(pipeline: str) -> str:
    """The night's name of the gate of ``pipeline``."""
    return f"{GATE_PREFIX}{pipeline}"


NIGHT: tuple[str, ...] = (SNAPSHOT, *PIPELINES, *(gate_job(p) for p in PIPELINES))


@dataclass(frozen=True)
class NightJob:
    """One job of the night: which module runs it, what it needs first, what it publishes."""

    name: str

    @property
    def pipeline(self) -> str | None:
        return self.name[len(GATE_PREFIX):] if self.name.startswith(GATE_PREFIX) else None

    @property
    def module(self) -> str:
        return "jobs.gate" if self.pipeline else f"jobs.{self.name}"

    @property
    def upstream(self) -> str | None:
        if self.pipeline:
            return self.pipeline
        return None if self.name == SNAPSHOT else SNAPSHOT

    def input_urls(self, ctx: JobContext) -> list[str]:
        """The datasets whose republication makes this job's output stale (what its Luigi task checks)."""
        lake, day = ctx.lake, ctx.run_date
        if self.pipeline:
            return [lake.import_ready(self.pipeline, day)]
        return [lake.raw_contacts(day) if self.name == SNAPSHOT else lake.staged_contacts(day)]

    def output_url(self, ctx: JobContext) -> str:
        """The dataset this job publishes (for a gate: its folder under ``quality/``)."""
        lake, day = ctx.lake, ctx.run_date
        if self.pipeline:
            return lake.quality(self.pipeline, day)
        return lake.staged_contacts(day) if self.name == SNAPSHOT else lake.import_ready(self.name, day)

    def published(self, ctx: JobContext, inputs: dict[str, str | None]) -> bool:
        """True when the output exists and was built from ``inputs`` (:mod:`lake.lineage`): the same test as
        the job's Luigi task, so the night skips exactly what Luigi holds complete."""
        output, files = self.output_url(ctx), cast(Any, ctx)  # JobContext reads and writes what lineage needs
        if self.pipeline:
            passed = ctx.exists(f"{output}/{GATE_PASSED_FLAG}")
            return passed and lineage.recorded_inputs(files, output) == inputs
        return lineage.is_up_to_date(files, output, list(inputs))

    def record(self, ctx: JobContext, inputs: dict[str, str | None]) -> None:
        """Records the inputs the job just read, so that its task (and the next night) holds it up to date."""
        lineage.record_inputs(cast(Any, ctx), self.output_url(ctx), inputs)

    def argv(self, args: argparse.Namespace) -> list[str]:
        common = ["--date", args.date.isoformat(), "--lake", args.lake.url, "--reference-dir", str(args.reference_dir)]
        if args.settings is not None:
            common += ["--settings", str(args.settings)]
        if args.verbose:
            common.append("--verbose")
        if self.pipeline:
            approved = self.pipeline in args.approve_initial_load
            return [*common, "--pipeline", self.pipeline, *(["--approve-initial-load"] if approved else [])]
        if self.name == SNAPSHOT and args.full_refresh:
            return [*common, "--full-refresh"]
        return common


def _job_list(text: str) -> list[str]:
    names = [n.strip() for n in text.split(",") if n.strip()]
    unknown = [n for n in names if n not in NIGHT]
    if unknown or not names:
        listed = ", ".join(unknown) or "(none)"
        raise argparse.ArgumentTypeError(f"unknown job(s) {listed}: pick from {','.join(NIGHT)}")
    return names


def _parser() -> argparse.ArgumentParser:
    parser = argument_parser(JOB, __doc__)
    parser.add_argument("--jobs", type=_job_list, default=list(NIGHT),
                        help="comma-separated jobs to run (default: the whole night); run in the night's order")
    parser.add_argument("--exit-for", choices=NIGHT, default=None,
                        help="the job whose exit code the night returns (default: the first of --jobs)")
    parser.add_argument("--full-refresh", action="store_true", help="passed to contacts_snapshot")
    parser.add_argument("--approve-initial-load", action="append", choices=PIPELINES, default=[],
                        metavar="PIPELINE", help="let this pipeline's first load through its gate (repeatable)")
    return parser


class NightProgress:
    """The night's progress as JSON lines appended to the file named by ``SCC_NIGHT_PROGRESS`` (nothing
    without it): ``{"total": n}``, ``{"done": job, "exit": code}`` per job (skipped ones too), and while a job
    runs, every ``interval`` seconds, ``{"job": job, "stages": [[stage id, tasks done, tasks], ...]}``."""

    def __init__(self, spark: Any, interval: float = 1.0) -> None:
        self.path = os.environ.get(PROGRESS_ENV)
        self.spark, self.interval = spark, interval
        self.current: str | None = None
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None

    def write(self, **event: Any) -> None:
        if not self.path:
            return
        try:
            with self._lock, open(self.path, "a", encoding="utf-8") as out:
                out.write(json.dumps(event) + "\n")
        except OSError:  # progress is for people watching; it never fails a night
            self.path = None

    def start(self, total: int) -> None:
        self.write(total=total)
        if self.path:
            self._thread = threading.Thread(target=self._watch_stages, name="night progress", daemon=True)
            self._thread.start()

    def _watch_stages(self) -> None:
        tracker = self.spark.sparkContext.statusTracker()
        while not self._stop.wait(self.interval):
            job = self.current
            if job is None:
                continue
            stages = []
            for stage_id in tracker.getActiveStageIds():
                info = tracker.getStageInfo(stage_id)
                if info is not None:
                    stages.append([stage_id, info.numCompletedTasks, info.numTasks])
            if stages:
                self.write(job=job, stages=sorted(stages))

    def done(self, job: str, code: int | str) -> None:
        self.current = None
        self.write(done=job, exit=code)

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join()


def _run(ctx: JobContext, codes: dict[str, int], started: float) -> None:
    args, day = ctx.args, ctx.run_date
    wanted = set(args.jobs)
    jobs = [NightJob(n) for n in NIGHT if n in wanted]
    session_ready = time.monotonic()
    failed: set[str] = set()
    progress = NightProgress(ctx.spark)
    progress.start(len(jobs))
    try:
        _run_jobs(ctx, jobs, codes, failed, progress)
    finally:
        progress.stop()
    ran = ", ".join(f"{n}={c}" for n, c in codes.items())
    print(f"{JOB} {day}: session start {session_ready - started:.1f} s, jobs {time.monotonic() - session_ready:.1f} s"
          f" ({ran})", flush=True)


def _run_jobs(ctx: JobContext, jobs: list[NightJob], codes: dict[str, int], failed: set[str],
              progress: NightProgress) -> None:
    args, day = ctx.args, ctx.run_date
    for job in jobs:
        inputs = lineage.current_inputs(cast(Any, ctx), job.input_urls(ctx))  # as the job is about to read them
        if job.published(ctx, inputs):
            codes[job.name] = EXIT_OK
            print(f"{JOB} {day}: {job.name} already published, skipped", flush=True)
            progress.done(job.name, "skipped")
            continue
        if job.upstream in failed:
            codes[job.name] = EXIT_INPUT
            failed.add(job.name)
            print(f"{JOB} {day}: {job.name} not run: {job.upstream} failed in this night", flush=True)
            progress.done(job.name, "skipped")
            continue
        # Each job starts from the same session state it would have alone (the jobs unpersist what they
        # cache; this drops anything a failed one left behind).
        ctx.spark.catalog.clearCache()
        began = time.monotonic()
        progress.current = job.name
        try:
            code = int(importlib.import_module(job.module).main(job.argv(args)))
        except Exception as err:  # a job's main maps its own failures; this is a bug in one, not the night's
            print(f"{job.name} failed: {type(err).__name__}: {err}", file=sys.stderr, flush=True)
            code = EXIT_FAILED
        codes[job.name] = code
        if code == EXIT_OK:
            job.record(ctx, inputs)
        else:
            failed.add(job.name)
        print(f"{JOB} {day}: {job.name} exit {code} in {time.monotonic() - began:.1f} s", flush=True)
        progress.done(job.name, code)


def main(argv: Sequence[str] | None = None) -> int:
    started = time.monotonic()
    parser = _parser()
    codes: dict[str, int] = {}
    exit_for: list[str] = []

    def body(ctx: JobContext) -> None:
        exit_for.append(ctx.args.exit_for or ctx.args.jobs[0])
        if exit_for[0] not in ctx.args.jobs:
            raise InputError(f"{JOB}: --exit-for {exit_for[0]} is not among --jobs {','.join(ctx.args.jobs)}")
        _run(ctx, codes, started)

    code = run_job(JOB, __doc__, argv, body, parser)
    if code != EXIT_OK or not exit_for:
        return code
    return codes[exit_for[0]]


if __name__ == "__main__":
    sys.exit(main())
