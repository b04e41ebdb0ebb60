"""The night in one HTML page: what each pipeline extracted, changed, held back, loaded and had rejected.

    python -m quality.report --lake file:///srv/scc/lake --date 2026-11-27

Reads, for data day D and each pipeline of ``contract.objects.PIPELINES`` (every input is optional: a stage
that has not written its output is shown as missing, never as an error):

* ``raw/...`` the day's extracts the pipeline reads (rows from Parquet metadata, mode from ``_export.json``);
* ``staged/contacts/run_date=D`` (the snapshot), ``import_ready/<p>/run_date=D`` (the payload),
  ``quarantine/<p>/run_date=D`` (held-back rows and their ``reason``);
* ``quality/<p>/run_date=D/*.json`` (the gate's checkpoint result) and ``quality/data_docs/`` (linked, relative);
* ``loaded/<p>/run_date=D/receipt.json`` and ``rejects/<p>/run_date=D`` (Eloqua's rejected rows);
* ``runs/run_date=D/tasks/*.json`` (``luigi_tasks.timings``), and the same figures for the 13 nights before D.

Writes ``reports/run_date=D/index.html`` through the storage layer (uploaded when the lake is on S3): one
self-contained page, charts drawn with matplotlib as inline SVG, no script, no font or image from anywhere
else, so it opens offline. Counts come from Parquet footers (pyarrow), never from Spark.

Exit codes of ``main``: 0 written (its URL on stdout); 2 bad arguments or no data for D; 1 the lake could
not be read or written. Every error is one line on stderr.
"""

from __future__ import annotations

import argparse
import datetime as dt
import html
import io
import os
import posixpath
import re
import sys
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import matplotlib
import pyarrow.compute as pc
import pyarrow.dataset as pads
import pyarrow.fs as pafs
from matplotlib.figure import Figure

from contract.objects import CAMPAIGN_RESPONSES, CONTACTS, PIPELINES, SFDC_CAMPAIGNS
from lake.errors import LakeError
from lake.paths import day as iso_day
from lake.settings import S3Settings
from lake.storage import Lake, open_lake
from spark.hard_bounces import BOUNCEBACK
from spark.lead_scoring import SCORED_ACTIVITY_TYPES

TREND_NIGHTS = 14
TOP_REASONS = 5
EXIT_OK, EXIT_FAILED, EXIT_INPUT = 0, 1, 2

# Stage and pipeline states, each shown with the same colour everywhere (badges, table cells, charts).
DONE, FAILED, MISSING, INCOMPLETE, SKIPPED, WARNING, PASSED, RUNNING = (
    "done", "failed", "missing", "incomplete", "skipped", "warning", "passed", "running")
OK = "ok"
_TONE = {DONE: "good", PASSED: "good", OK: "good", FAILED: "bad", INCOMPLETE: "bad",
         MISSING: "warn", WARNING: "warn", RUNNING: "warn", SKIPPED: "muted"}
_INK = {"good": "#1a7f37", "bad": "#cf222e", "warn": "#9a6700", "muted": "#57606a"}
# One colour per pipeline, the same in every chart; none of them is the red or green of a state.
PIPELINE_COLOURS = dict(zip(PIPELINES, ("#0969da", "#8250df", "#bf8700", "#1b7c83"), strict=False))

# What each pipeline reads from the night's extract (the jobs' docstrings, jobs/<pipeline>.py): contacts
# always, then its activity types and custom objects. Activities are the partition of day D.
_ACTIVITIES = tuple(f"activities/{t}" for t in SCORED_ACTIVITY_TYPES)
PIPELINE_INPUTS: dict[str, tuple[str, ...]] = {
    "contact_washing": (CONTACTS.name,),
    "hard_bounces": (CONTACTS.name, f"activities/{BOUNCEBACK}"),
    "lead_scoring": (CONTACTS.name, *_ACTIVITIES),
    "campaign_responses": (CONTACTS.name, CAMPAIGN_RESPONSES.name, SFDC_CAMPAIGNS.name, *_ACTIVITIES),
}
_GATE_RESULT_NAMES = ("result.json", "gate.json", "checkpoint_result.json")
_MANIFEST = "_export.json"


class NoDataError(ValueError):
    """Nothing in the lake for the requested day: no extract, dataset, gate result, receipt or task timing."""


class _UsageError(ValueError):
    """Bad command-line arguments (one line)."""


# ---------------------------------------------------------------------------------------------- the night


@dataclass(frozen=True)
class Dataset:
    """One dataset of the night: ``done`` (published), ``incomplete`` (no ``_SUCCESS``) or ``missing``."""

    state: str
    rows: int | None = None
    mode: str | None = None  # the extract's mode (full, increment, window), from its manifest


@dataclass(frozen=True)
class Gate:
    """The quality gate's outcome: ``passed``, ``failed`` or ``missing``."""

    state: str
    failed_expectations: tuple[str, ...] = ()
    initial_load_approved: bool | None = None
    data_docs_url: str | None = None
    initial_load: bool = False
    message: str | None = None


@dataclass(frozen=True)
class Load:
    """The Bulk import: ``done``, ``warning`` (some rows rejected), ``failed``, ``missing`` or ``skipped``."""

    state: str
    status: str | None = None
    loaded: int | None = None
    rejected: int | None = None
    top_rejections: tuple[tuple[str, int], ...] = ()
    sync_uri: str | None = None


@dataclass(frozen=True)
class TaskRun:
    """One task's timing document (``luigi_tasks.timings``)."""

    task_id: str
    family: str
    params: dict[str, str]
    status: str
    start: dt.datetime | None
    end: dt.datetime | None
    seconds: float | None


@dataclass(frozen=True)
class PipelineNight:
    """Everything one pipeline did on one night."""

    pipeline: str
    extracted: tuple[tuple[str, Dataset], ...]
    snapshot: Dataset
    payload: Dataset
    quarantine: Dataset
    quarantine_reasons: tuple[tuple[str, int], ...]
    gate: Gate
    load: Load
    tasks: tuple[TaskRun, ...]

    @property
    def seconds(self) -> float | None:
        timed = [t.seconds for t in self.tasks if t.seconds is not None]
        return sum(timed) if timed else None

    @property
    def status(self) -> str:
        """``failed`` when a stage failed, ``missing`` when one did not run, ``ok`` otherwise."""
        if (self.gate.state == FAILED or self.load.state == FAILED or INCOMPLETE in self._dataset_states()
                or any(t.status == FAILED for t in self.tasks)):
            return FAILED
        if MISSING in self._dataset_states() or MISSING in (self.gate.state, self.load.state):
            return MISSING
        return OK

    def _dataset_states(self) -> set[str]:
        return {d.state for _, d in self.extracted} | {self.snapshot.state, self.payload.state}


@dataclass(frozen=True)
class Night:
    day: dt.date
    pipelines: tuple[PipelineNight, ...]
    tasks: tuple[TaskRun, ...]
    report_exists: bool = False

    @property
    def has_data(self) -> bool:
        return bool(self.tasks) or any(
            p.payload.state != MISSING or p.snapshot.state != MISSING or p.gate.state != MISSING
            or p.load.state not in (MISSING, SKIPPED) or any(d.state != MISSING for _, d in p.extracted)
            for p in self.pipelines)

    @property
    def wall_seconds(self) -> float | None:
        """First task start to last task end: how long the night took."""
        starts = [t.start for t in self.tasks if t.start]
        ends = [t.end for t in self.tasks if t.end]
        return (max(ends) - min(starts)).total_seconds() if starts and ends else None


# ---------------------------------------------------------------------------------------------- reading


class _Reader:
    """Reads one lake's stage outputs; every path comes from the lake's layout."""

    def __init__(self, lake: Lake) -> None:
        self.lake = lake
        self.layout = lake.layout

    def dataset(self, url: str, manifest: bool = False) -> Dataset:
        if not self.lake.exists(url):
            return Dataset(MISSING)
        state = DONE if self.lake.is_complete(url) else INCOMPLETE
        mode = None
        if manifest:
            mode = (self.lake.read_json(f"{url}/{_MANIFEST}", default=None) or {}).get("mode")
        return Dataset(state, self.rows(url), mode)

    def rows(self, url: str) -> int:
        """Rows of a Parquet dataset from its footers (``_``/``.`` files such as ``_SUCCESS`` are skipped)."""
        fs, path = self.lake.fs_path(url)
        with self.lake.io_errors(url, "read"):
            return int(pads.dataset(path, filesystem=fs, format="parquet").count_rows())

    def value_counts(self, url: str, columns: Sequence[str]) -> tuple[tuple[str, int], ...]:
        """The most frequent values of the first of ``columns`` the dataset has, most frequent first."""
        fs, path = self.lake.fs_path(url)
        with self.lake.io_errors(url, "read"):
            data = pads.dataset(path, filesystem=fs, format="parquet")
            column = next((c for c in columns if c in data.schema.names), None)
            if column is None:
                return ()
            values = data.to_table(columns=[column]).column(column)
        counts = pc.value_counts(values.cast("string")).to_pylist()
        pairs = [(c["values"] if c["values"] is not None else "(no reason given)", int(c["counts"]))
                 for c in counts]
        return tuple(sorted(pairs, key=lambda p: (-p[1], p[0])))

    def rejection_reasons(self, url: str) -> tuple[tuple[str, int], ...]:
        """Eloqua's reject messages with their status codes (``message (ELQ-00107)``), most frequent first."""
        fs, path = self.lake.fs_path(url)
        with self.lake.io_errors(url, "read"):
            data = pads.dataset(path, filesystem=fs, format="parquet")
            columns = [c for c in ("message", "statusCode") if c in data.schema.names]
            table = data.to_table(columns=columns).to_pylist() if columns else []
        reasons = Counter(
            " ".join(filter(None, [str(r.get("message") or "(no message)"),
                                   f"({r['statusCode']})" if r.get("statusCode") else None]))
            for r in table)
        return tuple(sorted(reasons.items(), key=lambda p: (-p[1], p[0])))

    def source_url(self, source: str, day: dt.date) -> str:
        """Where the day's extract of ``source`` (``contacts``, ``activities/<Type>``, a custom object) is."""
        if source.startswith("activities/"):
            return self.layout.raw_activities(source.split("/", 1)[1], day)
        if source == CONTACTS.name:
            return self.layout.raw_contacts(day)
        return self.layout.raw_custom_object(source, day)

    def files(self, folder_url: str) -> list[str]:
        """URLs of the files directly in a folder (none when it does not exist), sorted."""
        fs, path = self.lake.fs_path(folder_url)
        with self.lake.io_errors(folder_url, "list"):
            infos = fs.get_file_info(pafs.FileSelector(path, allow_not_found=True))
        names = sorted(i.base_name for i in infos if i.type == pafs.FileType.File)
        return [f"{folder_url}/{n}" for n in names]

    # ------------------------------------------------------------------ gate, load, tasks
    def gate(self, pipeline: str, day: dt.date) -> Gate:
        candidates = [u for u in self.files(self.layout.quality(pipeline, day)) if u.endswith(".json")]
        if not candidates:
            return Gate(MISSING)
        named = [u for u in candidates if u.rsplit("/", 1)[1] in _GATE_RESULT_NAMES]
        doc = self.lake.read_json((named or candidates)[0])
        approved = doc.get("initial_load_approved")
        message = doc.get("message")
        return Gate(
            PASSED if doc.get("success") is True else FAILED,
            tuple(_failed_expectations(doc)),
            approved if isinstance(approved, bool) else None,
            self._data_docs_url(doc),
            doc.get("initial_load") is True,
            message if isinstance(message, str) and message else None,
        )

    def _data_docs_url(self, doc: dict[str, Any]) -> str | None:
        """The gate's own Data Docs page when it names one on this lake, else the site's index if present."""
        for key in ("data_docs_page", "data_docs_index", "data_docs_url", "data_docs"):
            value = doc.get(key)
            urls = list(value.values()) if isinstance(value, dict) else value if isinstance(value, list) else [value]
            for url in urls:
                if isinstance(url, str) and url:
                    # jobs/gate.py names the page as Spark sees it (s3a://); a bare path is a local file
                    url = "file://" + url if url.startswith("/") else url.replace("s3a://", "s3://", 1)
                    if url.startswith(self.lake.url + "/") and self.lake.exists(url):
                        return url
        index = f"{self.layout.data_docs()}/index.html"
        return index if self.lake.exists(index) else None

    def load(self, pipeline: str, day: dt.date, gate: Gate, load_failed: bool = False) -> Load:
        """The receipt of ``eloqua.imports`` (status ``success``, ``warning`` or ``empty``; rows staged and
        rejected) and the rejected rows; ``load_failed``: a load task of the pipeline failed."""
        receipt = self.lake.read_json(self.layout.loaded_receipt(pipeline, day), default=None)
        rejects_url = self.layout.rejects(pipeline, day)
        rejects = self.dataset(rejects_url)
        rejected = rejects.rows if rejects.state != MISSING else None
        top = self.rejection_reasons(rejects_url)[:TOP_REASONS] if rejected else ()
        if receipt is None:
            # eloqua.imports writes no receipt for a sync that ended in error: the failed task tells.
            state = SKIPPED if gate.state == FAILED else FAILED if load_failed else MISSING
            return Load(state, rejected=rejected, top_rejections=top)
        status = str(receipt.get("status") or "").lower() or None
        if rejected is None:
            rejected = _first_int(receipt, "rows_rejected", "rejected", "rejected_rows")
        loaded = _first_int(receipt, "rows_loaded", "loaded", "rows_imported", "imported")
        staged = _first_int(receipt, "rows_staged", "staged", "rows")
        if loaded is None and staged is not None:
            loaded = staged - (rejected or 0)
        if status in ("error", "failed", "failure"):
            state = FAILED
        elif rejected:
            state = WARNING
        else:
            state = DONE
        return Load(state, status, loaded, rejected, top, receipt.get("sync_uri"))

    def tasks(self, day: dt.date) -> tuple[TaskRun, ...]:
        runs = []
        for url in self.files(self.layout.run_tasks(day)):
            if url.endswith(".json"):
                runs.append(_task_run(self.lake.read_json(url)))
        return tuple(sorted(runs, key=lambda t: (t.start or dt.datetime.max.replace(tzinfo=dt.UTC), t.task_id)))

    # ------------------------------------------------------------------ a whole night
    def night(self, day: dt.date, detail: bool = True) -> Night:
        """The night of ``day``; without ``detail`` only what the trend needs (no extracts, no reasons)."""
        tasks = self.tasks(day)
        snapshot = self.dataset(self.layout.staged_contacts(day))
        extracted_cache: dict[str, Dataset] = {}
        pipelines = []
        for pipeline in PIPELINES:
            extracted: list[tuple[str, Dataset]] = []
            if detail:
                for source in PIPELINE_INPUTS.get(pipeline, (CONTACTS.name,)):
                    if source not in extracted_cache:
                        extracted_cache[source] = self.dataset(self.source_url(source, day), manifest=True)
                    extracted.append((source, extracted_cache[source]))
            quarantine_url = self.layout.quarantine(pipeline, day)
            quarantine = self.dataset(quarantine_url)
            reasons = self.value_counts(quarantine_url, ("reason",)) if detail and quarantine.rows else ()
            gate = self.gate(pipeline, day)
            own_tasks = tuple(t for t in tasks if _belongs_to(t, pipeline))
            pipelines.append(PipelineNight(
                pipeline=pipeline,
                extracted=tuple(extracted),
                snapshot=snapshot,
                payload=self.dataset(self.layout.import_ready(pipeline, day)),
                quarantine=quarantine,
                quarantine_reasons=reasons,
                gate=gate,
                load=self.load(pipeline, day, gate, any(
                    t.status == FAILED and "load" in t.family.lower() for t in own_tasks)),
                tasks=own_tasks,
            ))
        return Night(day, tuple(pipelines), tasks, self.lake.exists(self.layout.report(day)))


def _first_int(doc: dict[str, Any], *keys: str) -> int | None:
    for key in keys:
        value = doc.get(key)
        if isinstance(value, int) and not isinstance(value, bool):
            return value
    return None


def _camel(pipeline: str) -> str:
    return "".join(part.title() for part in pipeline.split("_"))


def _belongs_to(task: TaskRun, pipeline: str) -> bool:
    """A pipeline's own tasks: its Spark job (``ContactWashing``) and every task with ``pipeline=<it>``."""
    return task.family.rsplit(".", 1)[-1] == _camel(pipeline) or task.params.get("pipeline") == pipeline


def _timestamp(text: Any) -> dt.datetime | None:
    if not isinstance(text, str) or not text:
        return None
    try:
        moment = dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    return moment if moment.tzinfo else moment.replace(tzinfo=dt.UTC)


def _task_run(doc: dict[str, Any]) -> TaskRun:
    seconds = doc.get("seconds")
    return TaskRun(
        task_id=str(doc.get("task_id", "?")),
        family=str(doc.get("family", "?")),
        params={str(k): str(v) for k, v in (doc.get("params") or {}).items()},
        status=str(doc.get("status", MISSING)),
        start=_timestamp(doc.get("start")),
        end=_timestamp(doc.get("end")),
        seconds=float(seconds) if isinstance(seconds, int | float) else None,
    )


def _failed_expectations(doc: dict[str, Any]) -> Iterable[str]:
    """Labels of the failed expectations: the gate's own list, else dug out of a GE checkpoint result."""
    listed = doc.get("failed_expectations")
    if isinstance(listed, list):
        yield from (_expectation_label(e) for e in listed)
        return
    for run in _walk_validation_results(doc):
        for result in run.get("results") or []:
            if isinstance(result, dict) and result.get("success") is False:
                yield _expectation_label(result.get("expectation_config") or result)


def _walk_validation_results(doc: Any) -> Iterable[dict[str, Any]]:
    # GE 1.x nests validation results under run_results (a dict keyed by run id or a list); both are walked.
    if isinstance(doc, dict):
        if isinstance(doc.get("results"), list) and "statistics" in doc:
            yield doc
            return
        for value in doc.values():
            yield from _walk_validation_results(value)
    elif isinstance(doc, list):
        for value in doc:
            yield from _walk_validation_results(value)


def _expectation_label(item: Any) -> str:
    if not isinstance(item, dict):
        return str(item)
    kind = item.get("expectation_type") or item.get("type") or item.get("expectation") or "expectation"
    kwargs = item.get("kwargs") or {}
    column = item.get("column") or (kwargs.get("column") if isinstance(kwargs, dict) else None)
    label = f"{kind} ({column})" if column else str(kind)
    unexpected = item.get("unexpected_count")
    if unexpected is None and isinstance(item.get("result"), dict):
        unexpected = item["result"].get("unexpected_count")
    return f"{label}: {unexpected:,} unexpected" if isinstance(unexpected, int) else label


# ---------------------------------------------------------------------------------------------- charts


def _svg(figure: Figure, name: str) -> str:
    """A figure as an inline ``<svg>`` element: no XML prolog, no external reference, ids unique per chart."""
    out = io.StringIO()
    with matplotlib.rc_context({"svg.fonttype": "none", "svg.hashsalt": name}):
        figure.savefig(out, format="svg", bbox_inches="tight",
                       metadata={"Creator": None, "Date": None, "Format": None, "Type": None})
    text = out.getvalue()
    text = text[text.index("<svg"):]
    # Two charts could otherwise share a clip-path id: prefix every id and every reference to one.
    text = re.sub(r'id="([^"]+)"', rf'id="{name}-\1"', text)
    text = re.sub(r"url\(#([^)]+)\)", rf"url(#{name}-\1)", text)
    text = re.sub(r'xlink:href="#([^"]+)"', rf'xlink:href="#{name}-\1"', text)
    return text.replace("<svg ", f'<svg role="img" aria-label="{html.escape(name)}" class="chart" ', 1)


def _style_axes(ax: Any) -> None:
    for side in ("top", "right"):
        ax.spines[side].set_visible(False)
    ax.spines["left"].set_color("#d0d7de")
    ax.spines["bottom"].set_color("#d0d7de")
    ax.tick_params(colors="#57606a", labelsize=8)
    ax.grid(axis="x", color="#eaeef2", linewidth=0.8)
    ax.set_axisbelow(True)


def stage_chart(night: Night) -> str:
    """Rows per stage, one small panel per pipeline; a stage that did not run is written, not drawn."""
    columns = 2
    rows_of_panels = -(-len(night.pipelines) // columns)
    figure = Figure(figsize=(10, 0.4 + 2.3 * rows_of_panels), layout="constrained")
    axes = figure.subplots(rows_of_panels, columns, squeeze=False).ravel()
    for ax in axes[len(night.pipelines):]:
        ax.set_visible(False)
    for ax, p in zip(axes, night.pipelines, strict=False):
        extracted_rows = [d.rows for _, d in p.extracted if d.rows is not None]
        bars: list[tuple[str, int | None, str, str]] = [
            ("extracted", sum(extracted_rows) if extracted_rows else None, "#8c959f",
             _worst([d.state for _, d in p.extracted])),
            ("snapshot", p.snapshot.rows, "#8c959f", p.snapshot.state),
            ("payload", p.payload.rows, PIPELINE_COLOURS.get(p.pipeline, "#0969da"), p.payload.state),
            ("quarantined", p.quarantine.rows or 0, _INK["warn"], DONE),
            ("loaded", p.load.loaded, _INK["good"], p.load.state),
            ("rejected", p.load.rejected, _INK["bad"], p.load.state),
        ]
        top = max([b[1] for b in bars if b[1]] or [1])
        for y, (_, rows, colour, state) in enumerate(bars):
            if rows is None:
                word = "not run: gate failed" if state == SKIPPED else state
                ax.text(0.05, y, word, va="center", fontsize=8, color=_INK[_TONE.get(state, "warn")],
                        fontweight="bold")
                continue
            ax.barh(y, rows, color=colour, height=0.66)
            ax.text(rows * 1.12 if rows else 0.05, y, f"{rows:,}", va="center", fontsize=8, color="#24292f")
        ax.set_yticks(range(len(bars)), [b[0] for b in bars])
        ax.set_ylim(len(bars) - 0.5, -0.5)  # top to bottom in stage order
        # Snapshot and payload differ by orders of magnitude: a log axis keeps both readable.
        ax.set_xscale("symlog", linthresh=1)
        ax.set_xlim(0, top * 8)
        ax.set_title(p.pipeline, loc="left", fontsize=10, fontweight="bold",
                     color=PIPELINE_COLOURS.get(p.pipeline, "#24292f"))
        _style_axes(ax)
        ax.xaxis.set_major_formatter(matplotlib.ticker.FuncFormatter(lambda v, _: f"{v:,.0f}"))
    return _svg(figure, "rows-per-stage")


def trend_chart(nights: Sequence[Night]) -> str:
    """Payload rows, rejected rows and minutes per pipeline over the last nights; gaps are nights not run."""
    # Datetimes, not dates: the axis is padded by half a day on each side.
    days = [dt.datetime.combine(n.day, dt.time()) for n in nights]
    figure = Figure(figsize=(10, 6.6), layout="constrained")
    axes = figure.subplots(3, 1, sharex=True)
    panels = (
        ("payload rows", lambda p: p.payload.rows),
        ("rows rejected by Eloqua", lambda p: p.load.rejected),
        ("task minutes", lambda p: p.seconds / 60 if p.seconds is not None else None),
    )
    nan = float("nan")
    for ax, (title, value) in zip(axes, panels, strict=True):
        for i, pipeline in enumerate(PIPELINES):
            ys = [value(n.pipelines[i]) for n in nights]
            ax.plot(days, [nan if y is None else y for y in ys], marker="o", markersize=4, linewidth=1.6,
                    color=PIPELINE_COLOURS[pipeline], label=pipeline)
            if title == "payload rows":
                failed = [(x, value(n.pipelines[i]) or 0) for x, n in zip(days, nights, strict=True)
                          if n.pipelines[i].gate.state == FAILED]
                if failed:
                    ax.scatter(*zip(*failed, strict=True), marker="x", s=60, color=_INK["bad"], zorder=5,
                               label="gate failed")
        if title == "task minutes":
            walls = [n.wall_seconds / 60 if n.wall_seconds is not None else nan for n in nights]
            ax.plot(days, walls, linestyle="--", color="#24292f", linewidth=1.2, marker="s", markersize=3,
                    label="whole night (wall clock)")
        ax.set_title(title, loc="left", fontsize=10, fontweight="bold", color="#24292f")
        ax.set_ylim(bottom=0)
        _style_axes(ax)
        ax.grid(axis="y", color="#eaeef2", linewidth=0.8)
        # Rows are whole numbers (no tick at 0.5 rejects); minutes are not.
        ax.yaxis.set_major_locator(matplotlib.ticker.MaxNLocator(nbins=4, integer=title != "task minutes"))
        ax.yaxis.set_major_formatter(matplotlib.ticker.FuncFormatter(lambda v, _: f"{v:,g}"))
    legend: dict[str, Any] = {}
    for ax in axes:
        for h, label in zip(*ax.get_legend_handles_labels(), strict=True):
            legend.setdefault(label, h)
    # the pipelines first, in their order, then the markers
    labels = sorted(legend, key=lambda k: (k not in PIPELINES, PIPELINES.index(k) if k in PIPELINES else 0))
    handles = [legend[k] for k in labels]
    figure.legend(handles, labels, loc="outside lower center", ncols=min(len(labels), 6), fontsize=8,
                  frameon=False)
    axes[-1].set_xticks(days, [d.strftime("%b %d") for d in days])
    axes[-1].set_xlim(days[0] - dt.timedelta(hours=12), days[-1] + dt.timedelta(hours=12))
    return _svg(figure, "trend")


def timeline_chart(night: Night) -> str | None:
    """Each task of the night as a bar from its start to its end (a Gantt chart); None without timings."""
    timed = [t for t in night.tasks if t.start and (t.end or t.status == RUNNING)]
    if not timed:
        return None
    origin = min(t.start for t in timed if t.start)
    figure = Figure(figsize=(10, 0.9 + 0.26 * len(timed)), layout="constrained")
    ax = figure.subplots()
    ends = [t.end or t.start for t in timed if t.start]
    horizon = max((e - origin).total_seconds() for e in ends if e) or 1.0
    for y, task in enumerate(timed):
        assert task.start is not None
        left = (task.start - origin).total_seconds()
        width = ((task.end - task.start).total_seconds() if task.end else horizon - left) or horizon / 400
        colour = _INK[_TONE.get(task.status, "warn")] if task.status != DONE else next(
            (PIPELINE_COLOURS[p] for p in PIPELINES if _belongs_to(task, p)), "#8c959f")
        ax.barh(y, width, left=left, color=colour, height=0.7)
    ax.set_yticks(range(len(timed)), [_short_task(t) for t in timed], fontsize=7)
    ax.invert_yaxis()
    ax.set_xlabel("seconds since the first task started", fontsize=8, color="#57606a")
    _style_axes(ax)
    return _svg(figure, "timeline")


def _short_task(task: TaskRun) -> str:
    params = ", ".join(f"{v}" for k, v in task.params.items() if k != "date")
    name = task.family.rsplit(".", 1)[-1]
    return f"{name}({params})" if params else name


def _worst(states: Iterable[str]) -> str:
    states = list(states)
    for state in (FAILED, INCOMPLETE, MISSING):
        if state in states:
            return state
    return DONE if states else MISSING


# ---------------------------------------------------------------------------------------------- HTML

_CSS = """
:root { --good:#1a7f37; --good-bg:#dafbe1; --bad:#cf222e; --bad-bg:#ffebe9; --warn:#9a6700; --warn-bg:#fff8c5;
  --muted:#57606a; --muted-bg:#eaeef2; --line:#d0d7de; --ink:#24292f; }
* { box-sizing: border-box; }
body { margin: 0; font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, "Helvetica Neue", Arial,
  sans-serif; color: var(--ink); background: #f6f8fa; }
header { background: #24292f; color: #fff; padding: 18px 32px; }
header h1 { margin: 0 0 4px; font-size: 24px; }
header p { margin: 0; color: #d0d7de; }
header code { color: #fff; }
main { max-width: 1200px; margin: 0 auto; padding: 4px 24px 48px; }
section { background: #fff; border: 1px solid var(--line); border-radius: 8px; padding: 16px 20px;
  margin: 18px 0; }
h2 { font-size: 18px; margin: 0 0 12px; display: flex; gap: 10px; align-items: center; flex-wrap: wrap; }
h3 { font-size: 14px; margin: 14px 0 6px; }
table { border-collapse: collapse; width: 100%; font-variant-numeric: tabular-nums; }
th, td { padding: 6px 8px; border-bottom: 1px solid var(--line); text-align: left; vertical-align: middle; }
thead th { font-size: 11px; text-transform: uppercase; letter-spacing: .04em; color: var(--muted);
  background: #f6f8fa; white-space: nowrap; }
tbody th { font-weight: 600; white-space: nowrap; }
td.num, th.num { text-align: right; white-space: nowrap; }
td.words { text-align: center; font-size: 13px; }
.badge { display: inline-block; padding: 1px 8px; border-radius: 10px; font-size: 12px; font-weight: 600;
  white-space: nowrap; }
.good { color: var(--good); background: var(--good-bg); }
.bad { color: var(--bad); background: var(--bad-bg); }
.warn { color: var(--warn); background: var(--warn-bg); }
.muted { color: var(--muted); background: var(--muted-bg); }
td.bad, td.warn, td.muted { font-weight: 600; }
.dot { display: inline-block; width: 10px; height: 10px; border-radius: 50%; margin-right: 8px; }
.pipeline { border-left: 6px solid var(--line); }
.details { display: grid; grid-template-columns: minmax(0, 1.15fr) minmax(0, 1fr) minmax(0, 1fr); gap: 4px 28px; }
.details table { font-size: 13px; }
.details th, .details td { padding: 4px 8px; }
.small { font-size: 12px; color: var(--muted); }
p { margin: 6px 0; }
ul { margin: 4px 0; padding-left: 20px; }
svg.chart { width: 100%; height: auto; display: block; }
a { color: #0969da; }
code { font-size: 12px; }
"""


def _e(value: Any) -> str:
    return html.escape(str(value), quote=True)


def _n(value: int | None) -> str:
    return "—" if value is None else f"{value:,}"


def _badge(state: str, words: str | None = None) -> str:
    return f'<span class="badge {_TONE.get(state, "warn")}">{_e(words or state)}</span>'


def _duration(seconds: float | None) -> str:
    if seconds is None:
        return "—"
    minutes, rest = divmod(round(seconds), 60)
    return f"{minutes} min {rest:02d} s" if minutes else f"{seconds:.1f} s"


def _cell(stage: str, state: str, text: str) -> str:
    tone = _TONE.get(state, "warn") if state not in (DONE, PASSED) else ""
    # Figures line up on the right; words (missing, skipped: gate failed) may wrap.
    align = "num" if text[:1].isdigit() or text == "—" else "words"
    return f'<td class="{align} {tone}" data-stage="{stage}" data-state="{_e(state)}">{text}</td>'


def _dataset_cell(stage: str, data: Dataset) -> str:
    if data.state == DONE:
        return _cell(stage, DONE, _n(data.rows))
    return _cell(stage, data.state, f"{_e(data.state)}" + (f" ({_n(data.rows)})" if data.rows is not None else ""))


def _gate_words(gate: Gate) -> str:
    if gate.state == FAILED and gate.initial_load and not gate.initial_load_approved and not gate.failed_expectations:
        return "FAILED: initial load not approved"
    return {PASSED: "passed", FAILED: "FAILED", MISSING: "missing"}.get(gate.state, gate.state)


def _load_words(load: Load) -> str:
    return {DONE: "loaded", WARNING: "loaded with rejects", FAILED: "FAILED", MISSING: "missing",
            SKIPPED: "skipped: gate failed"}.get(load.state, load.state)


def _status_words(status: str) -> str:
    return {OK: "OK", FAILED: "FAILED", MISSING: "stages missing"}.get(status, status)


def _verdict(pipelines: Iterable[PipelineNight]) -> str:
    """Badges counting the pipelines per status: ``1 OK  2 FAILED  1 with stages missing``."""
    counts = Counter(p.status for p in pipelines)
    words = {OK: "OK", FAILED: "FAILED", MISSING: "with stages missing"}
    return " ".join(_badge(s, f"{counts[s]} {words[s]}") for s in (OK, FAILED, MISSING) if counts[s])


def _relative(from_url: str, to_url: str) -> str:
    """A link from one lake file to another that works wherever the lake is opened (a folder, a bucket)."""
    return posixpath.relpath(to_url.split("://", 1)[1], posixpath.dirname(from_url.split("://", 1)[1]))


def _summary_table(night: Night) -> str:
    rows = []
    for p in night.pipelines:
        extracted_state = _worst(d.state for _, d in p.extracted)
        extracted = sum(d.rows or 0 for _, d in p.extracted)
        extracted_text = _n(extracted) if extracted_state == DONE else _e(extracted_state)
        load_state = p.load.state
        loaded_text = _n(p.load.loaded) if load_state in (DONE, WARNING, FAILED) else _e(_load_words(p.load))
        task_failed = any(t.status == FAILED for t in p.tasks)
        rows.append(
            f'<tr data-pipeline="{_e(p.pipeline)}">'
            f'<th scope="row"><span class="dot" style="background:{PIPELINE_COLOURS.get(p.pipeline, "#8c959f")}">'
            f'</span><a href="#{_e(p.pipeline)}">{_e(p.pipeline)}</a></th>'
            f'<td data-stage="status">{_badge(p.status if p.status != OK else OK, _status_words(p.status))}</td>'
            + _cell("extracted", extracted_state, extracted_text)
            + _dataset_cell("snapshot", p.snapshot)
            + _dataset_cell("payload", p.payload)
            + _cell("quarantined", DONE, _n(p.quarantine.rows or 0))
            + f'<td data-stage="gate" data-state="{_e(p.gate.state)}">{_badge(p.gate.state, _gate_words(p.gate))}</td>'
            + _cell("loaded", load_state if load_state != WARNING else DONE, loaded_text)
            + _cell("rejected", WARNING if p.load.rejected else DONE, _n(p.load.rejected))
            + _cell("duration", FAILED if task_failed else DONE,
                    _duration(p.seconds) + (" · failed" if task_failed else ""))
            + "</tr>")
    head = ("<tr><th>pipeline</th><th>status</th><th class=num>extracted</th><th class=num>snapshot</th>"
            "<th class=num>payload</th><th class=num>quarantined</th><th>gate</th><th class=num>loaded</th>"
            "<th class=num>rejected</th><th class=num>tasks</th></tr>")
    return f'<table id="summary"><thead>{head}</thead><tbody>{"".join(rows)}</tbody></table>'


def _source_label(source: str) -> str:
    kind, _, name = source.partition("/")
    return f"{name} (activities)" if name else kind


def _pipeline_section(p: PipelineNight, report_url: str) -> str:
    colour = PIPELINE_COLOURS.get(p.pipeline, "#d0d7de")
    extracted = "".join(
        f"<tr><td>{_e(_source_label(name))}</td>{_dataset_cell('rows', d)}<td>{_e(d.mode or '—')}</td></tr>"
        for name, d in p.extracted)
    reasons = "".join(f"<tr><td>{_e(r)}</td><td class=num>{n:,}</td></tr>" for r, n in p.quarantine_reasons)
    gate = p.gate
    docs = (f' <a href="{_e(_relative(report_url, gate.data_docs_url))}">Data Docs</a>'
            if gate.data_docs_url else "")
    approval = ""
    if gate.initial_load:
        verb = "approved" if gate.initial_load_approved else "not approved"
        approval = f' <span class="small">initial load {verb}</span>'
    failed = "".join(f"<li>{_e(x)}</li>" for x in gate.failed_expectations)
    load = p.load
    figures = ""
    if load.state in (DONE, WARNING, FAILED):
        figures = (f" loaded <b>{_n(load.loaded)}</b>, rejected <b>{_n(load.rejected)}</b>"
                   + (f' <span class="small">sync <code>{_e(load.sync_uri)}</code></span>' if load.sync_uri else ""))
    rejections = "".join(f"<tr><td>{_e(m)}</td><td class=num>{n:,}</td></tr>" for m, n in load.top_rejections)
    tasks = "".join(
        f"<tr><td>{_e(_short_task(t))}</td><td>{_badge(t.status)}</td><td class=num>{_duration(t.seconds)}</td>"
        "</tr>" for t in p.tasks)
    return f"""
<section class="pipeline" id="{_e(p.pipeline)}" style="border-left-color:{colour}">
  <h2>{_e(p.pipeline)} {_badge(p.status, _status_words(p.status))}</h2>
  <div class="details">
    <div><h3>Extracted for this night</h3>
      <table><thead><tr><th>object</th><th class=num>rows</th><th>mode</th></tr></thead>
      <tbody>{extracted or '<tr><td colspan=3>—</td></tr>'}</tbody></table>
      <p>Snapshot {_badge(p.snapshot.state)} <b>{_n(p.snapshot.rows)}</b> contacts</p>
      <p>Payload {_badge(p.payload.state)} <b>{_n(p.payload.rows)}</b> rows</p>
    </div>
    <div><h3>Quarantined: {_n(p.quarantine.rows or 0)}</h3>
      {('<table><thead><tr><th>reason</th><th class=num>rows</th></tr></thead><tbody>' + reasons
        + '</tbody></table>') if reasons else '<p class="small">No row held back.</p>'}
      <h3>Quality gate</h3>
      <p>{_badge(gate.state, _gate_words(gate))}{docs}{approval}</p>
      {f'<p>Failed expectations:</p><ul class="failed">{failed}</ul>' if failed else ''}
      {f'<p class="small">{_e(gate.message)}</p>' if gate.message and gate.state == FAILED else ''}
    </div>
    <div><h3>Load into Eloqua</h3>
      <p>{_badge(load.state, _load_words(load))}{figures}</p>
      {('<table><thead><tr><th>top rejection reasons</th><th class=num>rows</th></tr></thead><tbody>'
        + rejections + '</tbody></table>') if rejections else ''}
      <h3>Tasks</h3>
      {('<table><thead><tr><th>task</th><th>status</th><th class=num>duration</th></tr></thead><tbody>' + tasks
        + '</tbody></table>') if tasks else '<p class="small">No task timing recorded.</p>'}
    </div>
  </div>
</section>"""


def _nights_table(nights: Sequence[Night], day: dt.date, report_url: str, layout_report: Any) -> str:
    rows = []
    for n in reversed([n for n in nights if n.has_data]):
        name = n.day.isoformat()
        if n.day == day:
            link = f"<b>{name}</b> (this page)"
        elif n.report_exists:
            link = f'<a href="{_e(_relative(report_url, layout_report(n.day)))}">{name}</a>'
        else:
            link = name
        gates = Counter(p.gate.state for p in n.pipelines)
        gate_text = " ".join(_badge(s, f"{gates[s]} {_gate_words(Gate(s))}") for s in (PASSED, FAILED, MISSING)
                             if gates[s])
        status_text = _verdict(n.pipelines)
        rows.append(
            f'<tr data-night="{name}"><td>{link}</td><td>{status_text}</td>'
            f"<td class=num>{_n(sum(p.payload.rows or 0 for p in n.pipelines))}</td>"
            f"<td class=num>{_n(sum(p.quarantine.rows or 0 for p in n.pipelines))}</td><td>{gate_text}</td>"
            f"<td class=num>{_n(sum(p.load.loaded or 0 for p in n.pipelines))}</td>"
            f"<td class=num>{_n(sum(p.load.rejected or 0 for p in n.pipelines))}</td>"
            f"<td class=num>{_duration(n.wall_seconds)}</td></tr>")
    head = ("<tr><th>night</th><th>pipelines</th><th class=num>payload rows</th><th class=num>quarantined</th>"
            "<th>gates</th><th class=num>loaded</th><th class=num>rejected</th><th class=num>duration</th></tr>")
    return f'<table id="nights"><thead>{head}</thead><tbody>{"".join(rows)}</tbody></table>'


def render(night: Night, trend: Sequence[Night], report_url: str, lake_url: str, layout_report: Any) -> str:
    """The page for ``night`` (``trend``: the nights up to it, oldest first, ``night`` last)."""
    verdict = _verdict(night.pipelines)
    timeline = timeline_chart(night)
    tasks_rows = "".join(
        f"<tr><td>{_e(t.family)}</td><td><code>{_e(', '.join(f'{k}={v}' for k, v in t.params.items()))}</code></td>"
        f"<td>{_badge(t.status)}</td><td>{_e(t.start.strftime('%H:%M:%S') if t.start else '—')}</td>"
        f"<td>{_e(t.end.strftime('%H:%M:%S') if t.end else '—')}</td><td class=num>{_duration(t.seconds)}</td></tr>"
        for t in night.tasks)
    day = night.day.isoformat()
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'; img-src data:">
<title>SCC night of {day}</title><style>{_CSS}</style></head>
<body>
<header><h1>SCC nightly run — data day {day}</h1>
<p>Lake <code>{_e(lake_url)}</code> · written {_e(dt.datetime.now(dt.UTC).strftime('%Y-%m-%d %H:%M UTC'))}
 · night took {_duration(night.wall_seconds)}</p></header>
<main>
<section id="overview"><h2>The night at a glance {verdict}</h2>
{_summary_table(night)}
<p class="small">Rows are counted from the Parquet files of each stage. A stage shown as <em>missing</em> wrote
nothing for this day; <em>incomplete</em> means it started writing and never published.</p>
</section>
<section id="stages"><h2>Rows per stage</h2>{stage_chart(night)}</section>
<section id="trend"><h2>The last {len(trend)} nights</h2>
{trend_chart(trend)}
<h3>Night by night</h3>
{_nights_table(trend, night.day, report_url, layout_report)}
</section>
{''.join(_pipeline_section(p, report_url) for p in night.pipelines)}
<section id="tasks"><h2>Every task of the night</h2>
{timeline or ''}
{('<table><thead><tr><th>task</th><th>parameters</th><th>status</th><th>start (UTC)</th><th>end (UTC)</th>'
  '<th class=num>duration</th></tr></thead><tbody>' + tasks_rows + '</tbody></table>') if tasks_rows
 else '<p class="small">No task timing was recorded for this night.</p>'}
</section>
</main></body></html>
"""


# ---------------------------------------------------------------------------------------------- entry points


def _s3_from_environment() -> S3Settings:
    """S3 settings for a hand-run report: ``SCC_S3_ENDPOINT_URL`` and the ``AWS_*`` credentials."""
    return S3Settings(
        endpoint_url=os.environ.get("SCC_S3_ENDPOINT_URL") or None,
        region=os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION") or "us-east-1",
        access_key=os.environ.get("AWS_ACCESS_KEY_ID"),
        secret_key=os.environ.get("AWS_SECRET_ACCESS_KEY"),
        session_token=os.environ.get("AWS_SESSION_TOKEN"),
    )


def build_report(lake: Lake, day: dt.date) -> str:
    """The HTML page of data day ``day``; :class:`NoDataError` when the lake holds nothing for it."""
    reader = _Reader(lake)
    night = reader.night(day)
    if not night.has_data:
        raise NoDataError(f"no data for {day.isoformat()} in {lake.url}: run the nightly for that day first")
    earlier = [reader.night(day - dt.timedelta(days=back), detail=False) for back in range(TREND_NIGHTS - 1, 0, -1)]
    # The trend starts at the first night that ran, so a young lake is not drawn as weeks of gaps.
    first = next((i for i, n in enumerate(earlier) if n.has_data), len(earlier))
    trend = [*earlier[first:], night]
    report_url = lake.layout.report(day)
    return render(night, trend, report_url, lake.url, lake.layout.report)


def write_report(lake_url: str, day: dt.date, s3: S3Settings | None = None) -> str:
    """Write the report of ``day`` to ``reports/run_date=D/index.html`` in the lake; return its URL.

    ``s3`` is needed for an ``s3://`` lake (default: ``SCC_S3_ENDPOINT_URL`` and ``AWS_*`` from the
    environment). Raises :class:`NoDataError` when nothing ran for ``day``, :class:`LakeError` when the lake
    cannot be read or written.
    """
    lake = open_lake(lake_url, s3 if s3 is not None or not lake_url.startswith(("s3://", "s3a://"))
                     else _s3_from_environment())
    page = build_report(lake, day)
    url = lake.layout.report(day)
    lake.write_bytes(url, page.encode("utf-8"))
    return url


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> Any:
        raise _UsageError(f"{self.prog}: {message}")


def main(argv: Sequence[str] | None = None) -> int:
    """``python -m quality.report --lake URL --date D``: write the night's page and print its URL."""
    parser = _Parser(prog="python -m quality.report", description=__doc__.split("\n\n")[0])
    parser.add_argument("--lake", default=os.environ.get("SCC_LAKE_URL"),
                        help="file:///path or s3://bucket/prefix (default: $SCC_LAKE_URL)")
    parser.add_argument("--date", required=True, help="the data day, YYYY-MM-DD")
    try:
        args = parser.parse_args(argv)
        if not args.lake:
            raise _UsageError(f"{parser.prog}: no lake: pass --lake file:///path or s3://bucket/prefix")
        try:
            day = dt.date.fromisoformat(iso_day(args.date))
        except ValueError as exc:
            raise _UsageError(f"{parser.prog}: {exc}") from None
        print(write_report(args.lake, day))
        return EXIT_OK
    except (_UsageError, NoDataError) as exc:
        print(str(exc), file=sys.stderr)
        return EXIT_INPUT
    except LakeError as exc:
        print(str(exc), file=sys.stderr)
        return EXIT_FAILED


if __name__ == "__main__":
    sys.exit(main())
