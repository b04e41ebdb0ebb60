"""Extract stage: Eloqua Bulk exports into the lake's raw zone as Parquet (pipelines-spec.md section 2).

    luigi --module luigi_tasks.extract ExtractAll --date 2026-11-27     # everything one nightly run needs
    luigi --module luigi_tasks.extract ExtractContacts --date 2026-11-27 --full-refresh
    luigi --module luigi_tasks.extract ExtractActivities --activity-type EmailOpen --date 2026-11-27

The lake is ``[lake] url`` (or ``$SCC_LAKE_URL``); Eloqua credentials come only from ``ELOQUA_*``
variables (``eloqua.settings``). Knobs live in ``[extract]`` (page size, pages in flight, sync deadline,
data retention).

Outputs (each a Parquet folder published whole with ``_SUCCESS``, plus an ``_export.json`` manifest):

* ``ExtractContacts(date)`` -> ``raw/contacts/run_date=D``. With no complete ``staged/contacts`` snapshot of
  an earlier day it is a **full** export (``UpdatedAt < D+1``). Otherwise, with B the latest earlier snapshot,
  an **increment** on ``{{Contact.UpdatedAt}}`` in ``[B+1, D+1)``: ``[D, D+1)`` on a normal night, and no day
  lost after a missed one. ``--full-refresh`` always exports everything (``UpdatedAt < D+1``).
* ``ExtractActivities(activity_type, date)`` -> ``raw/activities/activity_type=T/activity_date=D``:
  ``Type = T`` and ``CreatedAt`` in ``[D, D+1)`` (the nightly increment).
* ``ExtractActivityRange(activity_type, start, end)`` -> the same day partitions for every day of
  ``start .. end``, from ONE sync (``CreatedAt`` in ``[start, end+1)``) whose rows are split by day; each day
  is published on its own (``_SUCCESS`` + manifest) exactly as ``ExtractActivities`` writes it, and a day
  already complete is never rewritten. A sync of ``[extract] max_rows_per_sync`` rows or more (Eloqua stops
  activity exports at 5,000,000 rows) is dropped and the range halved (dynamic dependencies); one day that
  large fails.
* ``ExtractActivityLookback(date, activity_type)`` asks, at scheduling time, for the days of ``D-89 .. D``
  missing from the lake: one ``ExtractActivityRange`` per contiguous run of missing days (a run of one day is
  an ``ExtractActivities``). A first run therefore costs one sync per type, not 90.
* ``ExtractCustomObject(object_name, date)`` -> ``raw/<object>/run_date=D``: ``campaign_responses`` exports
  the window ``[D, D+1)`` on ``RespondedAt`` (the only rows its pipeline reads); ``sfdc_campaigns`` in full.

Every task holds one unit of the luigid resource ``eloqua_bulk_syncs`` while it runs, so no more syncs than
``[resources] eloqua_bulk_syncs`` are ever active against Eloqua, however many workers share the scheduler.

Resume: before starting a sync a task writes ``_state/extract/<Task>/<params>.json`` (staging URL and plan),
then adds the definition and sync uris. A rerun after a kill continues that sync while Eloqua retains its
data: pages already written as part files are not fetched again. If the sync expired (404/410) the staging
folder is emptied and a new sync started. On success the staging folder is published with ``_SUCCESS`` and the
state file deleted. A range task stages its pages in ``<staging>/pages``, splits them by day into
``<staging>/split/<day>`` (phase ``splitting``: redone whole after a kill, from the pages) and then publishes
the days one by one (phase ``publishing``: days already complete are skipped), so a rerun after a kill at any
point neither refetches a page nor rewrites a published day. A halved range records ``phase: halved`` and its
halves, so a rerun waits for the halves instead of starting another oversized sync.

Manifest ``_export.json`` (read by the contacts snapshot job to know how to merge)::

    {"format": 1, "object": "contacts", "task": "ExtractContacts(date=..., full_refresh=False)",
     "mode": "full" | "increment" | "window",  "window_column": "UpdatedAt" | null,
     "since": "YYYY-MM-DD 00:00:00" | null,     "until": "YYYY-MM-DD 00:00:00" | null,   (UTC, [since, until))
     "base_snapshot": "YYYY-MM-DD" | null,      "filter": "<EEL>" | null,
     "rows": 123, "definition_uri": "/contacts/exports/7", "sync_uri": "/syncs/12", "exported_at": "...Z"}

Activity days also carry ``activity_type`` and ``activity_date``; ``since``/``until`` are always the day's own
window. A day split out of a range sync adds ``sync_since``/``sync_until`` (the sync's window, which its
``filter`` selects) and ``sync_rows``.
"""

from __future__ import annotations

import datetime as dt
import logging
import uuid
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field
from typing import Any

import luigi
import pyarrow as pa
import pyarrow.dataset as pads

from contract.calendar import days_between
from contract.calendar import lookback_days as calendar_lookback
from contract.objects import (
    ACTIVITIES,
    BOUNCEBACK_ONLY_COLUMNS,
    CAMPAIGN_RESPONSES,
    CONTACTS,
    PIPELINE_ACTIVITY_TYPES,
    SANDBOX_EXTRA_ACTIVITY_TYPES,
    SFDC_CAMPAIGNS,
    EloquaObject,
)
from contract.settings import load_settings
from eloqua.client import EloquaClient
from eloqua.errors import EloquaError, Expired, ExportIncomplete, SyncFailed
from eloqua.export import (
    arrow_schema,
    definition_fields,
    export_entity,
    export_to_parquet,
    scan_parts,
    start_export,
    window_filter,
    write_part,
)
from eloqua.progress import progress_for
from eloqua.settings import instance_timezone
from lake.errors import LakeError
from lake.paths import day, run_dates, staging_url
from lake.storage import Lake
from luigi_tasks.config import configured_lake
from luigi_tasks.targets import DatasetTarget

log = logging.getLogger("luigi-interface")

RESOURCE = "eloqua_bulk_syncs"
MANIFEST = "_export.json"
MANIFEST_FORMAT = 1
# Bulk API doc section 6: Eloqua stops an activity export at 5,000,000 rows (tap-eloqua halves the window)
ELOQUA_ACTIVITY_EXPORT_CAP = 5_000_000
EXPORTED_ROWS_LOG = "ELQ-00102"  # "Successfully exported members to csv file.", count = rows exported
ACTIVITY_TYPES = PIPELINE_ACTIVITY_TYPES + SANDBOX_EXTRA_ACTIVITY_TYPES
CUSTOM_OBJECTS: dict[str, EloquaObject] = {o.name: o for o in (CAMPAIGN_RESPONSES, SFDC_CAMPAIGNS)}
# The column whose [D, D+1) window a custom object's export keeps; objects absent here are exported in full.
CUSTOM_OBJECT_WINDOW = {CAMPAIGN_RESPONSES.name: "RespondedAt"}
_DAY_COLUMN = "__activity_day"  # the split's partition key; never written into a part file


class extract(luigi.Config):  # luigi names the config section after the class
    """``[extract]``: tuning knobs of every extract task (none changes which rows are exported)."""

    page_size = luigi.IntParameter(default=50_000, description="rows per /syncs/{id}/data page (1..50000)")
    concurrency = luigi.IntParameter(default=3, description="pages in flight at once per export")
    sync_timeout = luigi.FloatParameter(default=6 * 3600.0, description="seconds a sync may take")
    data_retention = luigi.Parameter(default="P1D", description="how long Eloqua keeps a sync's data")
    max_rows_per_sync = luigi.IntParameter(
        default=ELOQUA_ACTIVITY_EXPORT_CAP,
        description="an activity sync with this many rows may be truncated: a range of days is halved, "
                    "a single day fails")
    transfer = luigi.ChoiceParameter(
        default="json", choices=["json", "csv"], var_type=str,
        description="page format of /syncs/{id}/data: json (the well-trodden path) or csv (about 3x faster to "
                    "convert, same Parquet; see bench/README.md)")


# ---------------------------------------------------------------------------------------------- helpers


def lookback_days(date: dt.date) -> list[dt.date]:
    """The data days lead scoring reads for ``date``, oldest first: the same ``[lead_scoring] lookback_days``
    setting the Spark jobs use (spec: the 90 days ``date-89 .. date``), so extract fetches what they read."""
    return list(calendar_lookback(date, load_settings().lead_scoring.lookback_days))


def contiguous_runs(days: list[dt.date]) -> list[tuple[dt.date, dt.date]]:
    """``(first, last)`` of each run of consecutive days in ``days`` (any order, duplicates ignored)."""
    runs: list[tuple[dt.date, dt.date]] = []
    for d in sorted(set(days)):
        if runs and d == runs[-1][1] + dt.timedelta(days=1):
            runs[-1] = (runs[-1][0], d)
        else:
            runs.append((d, d))
    return runs


def halves(start: dt.date, end: dt.date) -> list[tuple[dt.date, dt.date]]:
    """``start .. end`` (at least two days) cut in two: the older half gets the smaller share when odd."""
    middle = start + dt.timedelta(days=((end - start).days + 1) // 2 - 1)
    return [(start, middle), (middle + dt.timedelta(days=1), end)]


def _midnight(day: dt.date) -> str:
    return f"{day.isoformat()} 00:00:00"


def _window(statement: str, since: dt.date | None, until: dt.date) -> str:
    """EEL for ``since <= statement < until`` (UTC midnights); without ``since`` only the upper bound."""
    upper = f"'{statement}' < '{_midnight(until)}'"
    return upper if since is None else f"'{statement}' >= '{_midnight(since)}' AND {upper}"


class DataDayError(ValueError):
    """A ``--date`` whose data day cannot be extracted (not over yet)."""


class ExportTooLarge(EloquaError):
    """An activity sync holding ``max_rows_per_sync`` rows or more: Eloqua may have cut it short."""

    def __init__(self, message: str, rows: int) -> None:
        super().__init__(message)
        self.rows = rows


def _check_day_is_over(date: dt.date) -> None:
    end = dt.datetime.combine(date + dt.timedelta(days=1), dt.time(), dt.UTC)
    if end > dt.datetime.now(dt.UTC):
        raise DataDayError(f"data day {date} is not over until {end:%Y-%m-%d %H:%M} UTC: extracting it now "
                           "would freeze a partial day; pass an earlier --date")


def latest_snapshot_before(lake: Lake, date: dt.date) -> dt.date | None:
    """The run date of the latest complete ``staged/contacts`` snapshot strictly before ``date``, if any."""
    days = run_dates(lake.list_datasets(lake.layout.staged_contacts_root()))
    earlier = [d for d in days if d < date]
    return max(earlier) if earlier else None


def state_url(lake: Lake, task: luigi.Task) -> str:
    """``_state/extract/<Task>/<param=value,...>.json``: the resume record of one task."""
    params = ",".join(f"{k}={v}" for k, v in task.to_str_params(only_significant=True).items())
    return lake.layout.state("extract", task.get_task_family(), f"{params}.json")


def sync_row_count(client: EloquaClient, sync_uri: str) -> int:
    """Rows a finished export sync holds: the ELQ-00102 log count (as tap-eloqua reads it), else the data's
    ``totalResults``."""
    counts = [int(entry["count"]) for entry in client.sync_logs(sync_uri)
              if entry.get("statusCode") == EXPORTED_ROWS_LOG and str(entry.get("count", "")).isdigit()]
    if counts:
        return max(counts)
    return int(client.get_sync_data(sync_uri, limit=1).get("totalResults") or 0)


def activity_fields(activity_type: str) -> dict[str, str]:
    """The definition's fields for one activity type: Eloqua accepts only the fields a type has, so the
    Bounceback-only columns are asked of Bounceback alone (they come out null for the other types)."""
    columns = [c for c in ACTIVITIES.columns
               if activity_type == "Bounceback" or c.name not in BOUNCEBACK_ONLY_COLUMNS]
    return {c.name: c.statement or "" for c in columns}


def activity_filter(activity_type: str, since: dt.date, until: dt.date) -> str:
    """EEL pinning ``{{Activity.Type}}`` and keeping ``{{Activity.CreatedAt}}`` in ``[since, until)``."""
    type_statement = ACTIVITIES.column("ActivityType").statement
    created_statement = ACTIVITIES.column("ActivityDate").statement or ""
    return f"'{type_statement}' = '{activity_type}' AND {_window(created_statement, since, until)}"


@dataclass(frozen=True)
class ExportPlan:
    """What one export selects: its fields and filter, and how to describe it in the manifest."""

    fields: dict[str, str]
    filter: str | None
    mode: str  # full | increment | window
    window_column: str | None = None
    since: str | None = None
    until: str | None = None
    base_snapshot: str | None = None
    extra: dict[str, Any] = field(default_factory=dict)


Planner = Callable[[EloquaClient], ExportPlan]


def activity_plan(activity_type: str, since: dt.date, until: dt.date, **extra: str) -> ExportPlan:
    """The export of activities of one type created in ``[since, until)`` (UTC midnights)."""
    return ExportPlan(activity_fields(activity_type), activity_filter(activity_type, since, until), "window",
                      "ActivityDate", since=_midnight(since), until=_midnight(until),
                      extra={"activity_type": activity_type, **extra})


# ---------------------------------------------------------------------------------------------- the run


class _Oversized(Exception):
    """Internal: the sync of ``state`` holds too many rows (``error`` says how many)."""

    def __init__(self, state: dict[str, Any], error: ExportTooLarge) -> None:
        super().__init__(str(error))
        self.state = state
        self.error = error


def _now() -> str:
    return dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


@dataclass
class _Run:
    """One task's export from plan to published dataset, resumable through its state file.

    ``max_rows``: a sync with at least this many rows raises ExportTooLarge (the sync is dropped).
    """

    lake: Lake
    client: EloquaClient
    obj: EloquaObject
    dataset_url: str
    state_url: str
    task_id: str
    definition_name: str
    planner: Planner
    settings: extract
    max_rows: int | None = None

    def execute(self) -> dict[str, Any]:
        self.lake.check()
        state = self.lake.read_json(self.state_url, default=None)
        if state and state.get("phase") == "publishing":
            if self._finish_publishing(state):
                return self.lake.read_json(self.dataset_url + "/" + MANIFEST)
            state = None
        try:
            state, result = self._fetch(state)
        except _Oversized as over:
            self._discard(over.state, reason="too many rows for one sync", release=True)
            raise over.error from None
        manifest = {
            "format": MANIFEST_FORMAT,
            "object": self.obj.name,
            "task": self.task_id,
            "mode": state["plan"]["mode"],
            "window_column": state["plan"]["window_column"],
            "since": state["plan"]["since"],
            "until": state["plan"]["until"],
            "base_snapshot": state["plan"]["base_snapshot"],
            "filter": state["plan"]["filter"],
            **state["plan"]["extra"],
            "rows": result,
            "definition_uri": state["definition_uri"],
            "sync_uri": state["sync_uri"],
            "exported_at": _now(),
        }
        self.lake.write_json(state["staging_url"] + "/" + MANIFEST, manifest)
        state["phase"] = "publishing"
        self.lake.write_json(self.state_url, state)
        self.lake.publish(state["staging_url"], self.dataset_url)
        self.lake.delete(self.state_url)
        self._release_eloqua_data(state["sync_uri"])
        return manifest

    def _fetch(self, state: dict[str, Any] | None) -> tuple[dict[str, Any], int]:
        """Continue the recorded sync (or start one) until its pages are all in the staging folder.

        Returns the state and the sync's row count. A sync with too many rows raises _Oversized; its state
        file still names the sync (the caller decides what to drop).
        """
        if state and not state.get("sync_uri"):
            self._discard(state, reason="killed before its sync started")  # nothing was written for it
            state = None
        resumed = state is not None
        if state is not None:
            log.info("%s: resuming sync %s into %s", self.task_id, state["sync_uri"], state["staging_url"])
        while True:
            if state is None:
                state = self._start()
            try:
                return state, self._download(state)
            except ExportTooLarge as exc:
                raise _Oversized(state, exc) from None
            except (Expired, ExportIncomplete) as exc:
                if not resumed:
                    raise
                log.warning("%s: cannot resume sync %s (%s); starting a new sync",
                            self.task_id, state["sync_uri"], exc)
                self._discard(state, reason="its data expired or no longer fits")
                state, resumed = None, False
            except SyncFailed:
                # a rerun must start a new sync, not wait on this one again
                self._discard(state, reason="sync failed")
                raise

    def _new_staging_url(self) -> str:
        return self.lake.new_staging_url(self.dataset_url)

    def _pages_url(self, state: dict[str, Any]) -> str:
        """Where the sync's pages go as part files."""
        return str(state["staging_url"])

    def _start(self) -> dict[str, Any]:
        plan = self.planner(self.client)
        staging = self._new_staging_url()
        plan_record = {k: v for k, v in asdict(plan).items() if k != "fields"}
        state: dict[str, Any] = {"task": self.task_id, "dataset_url": self.dataset_url,
                                 "staging_url": staging, "plan": plan_record, "phase": "starting"}
        self.lake.write_json(self.state_url, state)
        started = start_export(self.client, self.obj, filter=plan.filter, fields=plan.fields,
                               name=self.definition_name, data_retention=self.settings.data_retention)
        state.update(definition_uri=started.definition_uri, sync_uri=started.sync_uri, phase="syncing")
        self.lake.write_json(self.state_url, state)
        return state

    def _download(self, state: dict[str, Any]) -> int:
        sync_uri = state["sync_uri"]
        self.client.wait_for_sync(sync_uri, timeout=self.settings.sync_timeout, accept_warning=False)
        if self.max_rows is not None:
            rows = sync_row_count(self.client, sync_uri)
            if rows >= self.max_rows:
                raise ExportTooLarge(self._too_large_message(state, rows), rows)
        pages = self._pages_url(state)
        filesystem, path = self.lake.fs_path(pages)
        with self.lake.io_errors(pages, "write"):
            result = export_to_parquet(
                self.client, sync_uri, arrow_schema(self.obj), filesystem, path,
                page_size=self.settings.page_size, concurrency=self.settings.concurrency,
                progress=progress_for(f"{self.task_id} {sync_uri}"),
                transfer="csv" if self.settings.transfer == "csv" else "json")
        return result.total_rows

    def _too_large_message(self, state: dict[str, Any], rows: int) -> str:
        return (f"{self.task_id}: sync {state['sync_uri']} holds {rows} rows, at least [extract] "
                f"max_rows_per_sync = {self.max_rows} (Eloqua stops activity exports at "
                f"{ELOQUA_ACTIVITY_EXPORT_CAP}), and one data day cannot be split further: raise "
                "max_rows_per_sync only if your Eloqua instance's limit is higher, else export that day "
                "in smaller windows by hand")

    def _discard(self, state: dict[str, Any], *, reason: str, release: bool = False) -> None:
        """Forget a sync: empty its staging folder, drop its definition (best effort) and the state file."""
        self._drop_sync(state, release=release)
        self.lake.delete(self.state_url)
        log.info("%s: discarded %s (%s)", self.task_id, state.get("sync_uri") or "an unstarted sync", reason)

    def _drop_sync(self, state: dict[str, Any], *, release: bool) -> None:
        """Delete a sync's staging folder, its definition and, with ``release``, its data in Eloqua."""
        self.lake.delete(state["staging_url"], recursive=True)
        if state.get("definition_uri"):
            try:
                self.client.delete_definition(state["definition_uri"])
            except EloquaError as exc:
                log.info("%s: could not delete definition %s (%s)",
                         self.task_id, state["definition_uri"], exc)
        if release and state.get("sync_uri"):
            self._release_eloqua_data(state["sync_uri"])

    def _finish_publishing(self, state: dict[str, Any]) -> bool:
        """Complete a publish that a kill interrupted; False when there is nothing left to publish."""
        staging = state["staging_url"]
        if self.lake.exists(staging):
            self.lake.publish(staging, self.dataset_url)
        done = self.lake.is_complete(self.dataset_url)
        self.lake.delete(self.state_url)
        return done

    def _release_eloqua_data(self, sync_uri: str) -> None:
        # Eloqua's staging area is shared by every export of the instance: free it once the lake has the data.
        try:
            self.client.delete_sync_data(sync_uri)
        except EloquaError as exc:
            log.info("%s: could not delete the data of %s (%s); Eloqua expires it anyway",
                     self.task_id, sync_uri, exc)


@dataclass
class _RangeRun(_Run):
    """One activity sync over ``days`` (consecutive), split into one published dataset per day.

    ``dataset_url`` is the first day's dataset (the staging folder is created beside it). Run it with
    :meth:`execute_range`.
    """

    activity_type: str = ""
    days: list[dt.date] = field(default_factory=list)

    def execute_range(self) -> list[tuple[dt.date, dt.date]]:
        """Publish every day of the range that is not complete yet and return ``[]``; or, when the sync holds
        ``max_rows`` rows or more and spans several days, drop it and return the two halves to extract."""
        self.lake.check()
        state = self.lake.read_json(self.state_url, default=None)
        if state and state.get("phase") == "halved":
            return [(dt.date.fromisoformat(a), dt.date.fromisoformat(b)) for a, b in state["halves"]]
        if not state or state.get("phase") not in ("splitting", "publishing"):
            try:
                state, rows = self._fetch(state)
            except _Oversized as over:
                if len(self.days) == 1:
                    self._discard(over.state, reason="too many rows for one sync", release=True)
                    raise over.error from None
                return self._halve(over.state, over.error.rows)
            state.update(phase="splitting", rows=rows)
            self.lake.write_json(self.state_url, state)
        if state["phase"] == "splitting" or not self._staged_days_present(state):
            self._split(state)
        self._publish_days(state)
        self.lake.delete(state["staging_url"], recursive=True)
        self.lake.delete(self.state_url)
        self._release_eloqua_data(state["sync_uri"])
        return []

    def _new_staging_url(self) -> str:
        # beside the first day, named after the range: <type>/_tmp-activity_date_<start>-to-<end>-<token>
        return staging_url(self.dataset_url, f"to-{self.days[-1].isoformat()}-{uuid.uuid4().hex[:12]}")

    def _pages_url(self, state: dict[str, Any]) -> str:
        return f"{state['staging_url']}/pages"

    @staticmethod
    def _split_url(state: dict[str, Any]) -> str:
        return f"{state['staging_url']}/split"

    def _day_url(self, day: dt.date) -> str:
        return self.lake.layout.raw_activities(self.activity_type, day)

    def _halve(self, state: dict[str, Any], rows: int) -> list[tuple[dt.date, dt.date]]:
        parts = halves(self.days[0], self.days[-1])
        log.warning("%s: sync %s holds %d rows, at least max_rows_per_sync = %s: dropping it and extracting "
                    "%s", self.task_id, state["sync_uri"], rows, self.max_rows,
                    " and ".join(f"{a}..{b}" for a, b in parts))
        # Recorded before the sync is dropped: a rerun after a kill must not start another oversized sync.
        self.lake.write_json(self.state_url, {
            "task": self.task_id, "phase": "halved", "rows": rows, "sync_uri": state["sync_uri"],
            "halves": [[a.isoformat(), b.isoformat()] for a, b in parts]})
        self._drop_sync(state, release=True)
        return parts

    def _split(self, state: dict[str, Any]) -> None:
        """Rewrite the pages as ``split/<day>/part-*.parquet``, one folder per day of the range (empty days
        get an empty part). One streaming pass: memory is bounded by batches, not by the range's rows."""
        split_url = self._split_url(state)
        self.lake.delete(split_url, recursive=True)  # a split a kill interrupted is redone whole
        filesystem, pages = self.lake.fs_path(self._pages_url(state))
        _, split = self.lake.fs_path(split_url)
        schema = arrow_schema(self.obj)
        written: list[tuple[str, int]] = []
        with self.lake.io_errors(split_url, "write"):
            parts = [p.path for p in scan_parts(filesystem, pages)]
            columns = {name: pads.field(name) for name in schema.names}
            columns[_DAY_COLUMN] = pads.field("ActivityDate").cast(pa.date32())  # timestamps are UTC
            scanner = pads.dataset(parts, schema=schema, format="parquet", filesystem=filesystem).scanner(
                columns=columns, fragment_readahead=1)
            pads.write_dataset(
                scanner, split, filesystem=filesystem, format="parquet",
                partitioning=pads.partitioning(pa.schema([(_DAY_COLUMN, pa.date32())])),
                basename_template="part-{i}.parquet", existing_data_behavior="error",
                file_visitor=lambda f: written.append((f.path, f.metadata.num_rows)))
            day_rows = {d.isoformat(): 0 for d in self.days}
            outside = 0
            for path, rows in written:
                folder = path.rstrip("/").rsplit("/", 2)[-2]
                if folder in day_rows:
                    day_rows[folder] += rows
                else:
                    outside += rows
            if outside or sum(day_rows.values()) != state["rows"]:
                raise ExportIncomplete(
                    f"sync {state['sync_uri']} returned {outside} of its {state['rows']} rows outside "
                    f"{self.days[0]}..{self.days[-1]} or without an ActivityDate: check the export "
                    f"definition's filter, delete {self.state_url} and rerun")
            for name, rows in day_rows.items():
                if rows == 0:  # readers still see the schema, as for a single-day export of no rows
                    filesystem.create_dir(f"{split}/{name}", recursive=True)
                    write_part(filesystem, f"{split}/{name}", 0, schema.empty_table())
        state.update(phase="publishing", day_rows=day_rows)
        self.lake.write_json(self.state_url, state)

    def _staged_days_present(self, state: dict[str, Any]) -> bool:
        """Whether every day still to publish has its split folder (a day is never left without both)."""
        return all(self.lake.exists(f"{self._split_url(state)}/{d.isoformat()}")
                   for d in self.days if not self.lake.is_complete(self._day_url(d)))

    def _publish_days(self, state: dict[str, Any]) -> None:
        plan = state["plan"]
        for d in self.days:
            day_url = self._day_url(d)
            if self.lake.is_complete(day_url):
                continue  # published by an earlier attempt, or by another task: never rewritten
            staged = f"{self._split_url(state)}/{d.isoformat()}"
            following = d + dt.timedelta(days=1)
            manifest = {
                "format": MANIFEST_FORMAT,
                "object": self.obj.name,
                "task": self.task_id,
                "mode": "window",
                "window_column": "ActivityDate",
                "since": _midnight(d),
                "until": _midnight(following),
                "base_snapshot": None,
                "filter": plan["filter"],
                "activity_type": self.activity_type,
                "activity_date": d.isoformat(),
                "rows": state["day_rows"][d.isoformat()],
                "definition_uri": state["definition_uri"],
                "sync_uri": state["sync_uri"],
                "sync_since": plan["since"],
                "sync_until": plan["until"],
                "sync_rows": state["rows"],
                "exported_at": _now(),
            }
            self.lake.write_json(staged + "/" + MANIFEST, manifest)
            self.lake.publish(staged, day_url)


# ---------------------------------------------------------------------------------------------- tasks


class DataDayParameter(luigi.DateParameter):
    """A data day ``YYYY-MM-DD``; anything else is refused with one line saying what is expected."""

    def parse(self, s: str) -> dt.date:
        return dt.date.fromisoformat(day(s))


class _ExtractTask(luigi.Task):
    """Base of the extract tasks: holds one Eloqua sync slot while running; failures report one line."""

    resources = {RESOURCE: 1}

    def on_failure(self, exception: BaseException) -> str:
        # The luigid UI and error e-mails get the actionable line, not a stack trace of an expected failure.
        if isinstance(exception, EloquaError | LakeError | DataDayError):
            return f"{type(exception).__name__}: {exception}"
        return str(super().on_failure(exception))

    def _client(self, config: extract) -> EloquaClient:
        return EloquaClient.from_env(pool_size=max(4, config.concurrency + 2))

    def _extract(self, obj: EloquaObject, definition_name: str, planner: Planner,
                 max_rows: int | None = None) -> dict[str, Any]:
        lake = configured_lake()
        config = extract()
        with self._client(config) as client:
            return _Run(lake=lake, client=client, obj=obj, dataset_url=self.output().url,
                        state_url=state_url(lake, self), task_id=str(self),
                        definition_name=definition_name, planner=planner, settings=config,
                        max_rows=max_rows).execute()


class ExtractContacts(_ExtractTask):
    """``raw/contacts/run_date=D``: all contacts on a first run or with --full-refresh, else an increment."""

    date = DataDayParameter()
    full_refresh = luigi.BoolParameter(default=False)

    def output(self) -> DatasetTarget:
        lake = configured_lake()
        return DatasetTarget(lake, lake.layout.raw_contacts(self.date))

    def complete(self) -> bool:
        # A full refresh is done only when the day's export is a full one; an increment does not satisfy it.
        if not super().complete():
            return False
        if not self.full_refresh:
            return True
        manifest = configured_lake().read_json(self.output().url + "/" + MANIFEST, default={})
        return manifest.get("mode") == "full"

    def run(self) -> None:
        _check_day_is_over(self.date)
        date, until = self.date, self.date + dt.timedelta(days=1)
        statement = CONTACTS.updated_at_statement or CONTACTS.column("UpdatedAt").statement or ""

        def plan(client: EloquaClient) -> ExportPlan:
            fields = {c.name: c.statement or "" for c in CONTACTS.columns}
            base = None if self.full_refresh else latest_snapshot_before(configured_lake(), date)
            if base is None:
                return ExportPlan(fields, _window(statement, None, until), "full", "UpdatedAt",
                                  until=_midnight(until), extra={"run_date": date.isoformat()})
            since = base + dt.timedelta(days=1)
            return ExportPlan(fields, _window(statement, since, until), "increment", "UpdatedAt",
                              since=_midnight(since), until=_midnight(until), base_snapshot=base.isoformat(),
                              extra={"run_date": date.isoformat()})

        self._extract(CONTACTS, f"SCC contacts {date}" + (" full refresh" if self.full_refresh else ""), plan)


class ExtractActivities(_ExtractTask):
    """``raw/activities/activity_type=T/activity_date=D``: activities of type T created in ``[D, D+1)``."""

    activity_type = luigi.ChoiceParameter(choices=ACTIVITY_TYPES, var_type=str)
    date = DataDayParameter()

    def output(self) -> DatasetTarget:
        lake = configured_lake()
        return DatasetTarget(lake, lake.layout.raw_activities(self.activity_type, self.date))

    def run(self) -> None:
        _check_day_is_over(self.date)
        since, until = self.date, self.date + dt.timedelta(days=1)
        plan = activity_plan(self.activity_type, since, until, activity_date=self.date.isoformat())
        self._extract(ACTIVITIES, f"SCC activities {self.activity_type} {self.date}", lambda client: plan,
                      max_rows=extract().max_rows_per_sync)


class ExtractActivityRange(_ExtractTask):
    """``raw/activities/activity_type=T/activity_date=D`` for every D in ``start .. end``, from one sync.

    Complete once every day is. Days already complete when it runs are left untouched. A sync of
    ``[extract] max_rows_per_sync`` rows or more is dropped and both halves of the range are required instead.
    """

    activity_type = luigi.ChoiceParameter(choices=ACTIVITY_TYPES, var_type=str)
    start = DataDayParameter()
    end = DataDayParameter()

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        if self.end < self.start:
            raise ValueError(f"{self}: end {self.end} is before start {self.start}: pass start <= end")

    def days(self) -> list[dt.date]:
        return days_between(self.start, self.end)

    def output(self) -> list[DatasetTarget]:
        lake = configured_lake()
        return [DatasetTarget(lake, lake.layout.raw_activities(self.activity_type, d)) for d in self.days()]

    def run(self) -> Iterator[list[luigi.Task]]:
        _check_day_is_over(self.end)
        parts = self._extract_range()
        if parts:
            # dynamic dependencies: luigi runs the halves, then calls run() again, which lands here once more
            yield [activity_task(self.activity_type, a, b) for a, b in parts]
            lake = configured_lake()
            lake.delete(state_url(lake, self))

    def _extract_range(self) -> list[tuple[dt.date, dt.date]]:
        lake = configured_lake()
        config = extract()
        since, until = self.start, self.end + dt.timedelta(days=1)
        plan = activity_plan(self.activity_type, since, until)
        with self._client(config) as client:
            return _RangeRun(
                lake=lake, client=client, obj=ACTIVITIES,
                dataset_url=lake.layout.raw_activities(self.activity_type, self.start),
                state_url=state_url(lake, self), task_id=str(self),
                definition_name=f"SCC activities {self.activity_type} {self.start}..{self.end}",
                planner=lambda client: plan, settings=config, max_rows=config.max_rows_per_sync,
                activity_type=self.activity_type, days=self.days()).execute_range()


def activity_task(activity_type: str, start: dt.date,
                  end: dt.date) -> ExtractActivities | ExtractActivityRange:
    """The task extracting ``start .. end``: ExtractActivities for one day, else ExtractActivityRange."""
    if start == end:
        return ExtractActivities(activity_type=activity_type, date=start)
    return ExtractActivityRange(activity_type=activity_type, start=start, end=end)


class ExtractActivityLookback(luigi.WrapperTask):
    """Activities of one type for the 90 data days ``D-89 .. D``: one task per run of days missing from the
    lake, decided when the task is scheduled (days already present are never fetched again)."""

    date = DataDayParameter()
    activity_type = luigi.ChoiceParameter(choices=ACTIVITY_TYPES, var_type=str)

    def missing_days(self) -> list[dt.date]:
        lake = configured_lake()
        return [d for d in lookback_days(self.date)
                if not lake.is_complete(lake.layout.raw_activities(self.activity_type, d))]

    def requires(self) -> Iterator[ExtractActivities | ExtractActivityRange]:
        for start, end in contiguous_runs(self.missing_days()):
            yield activity_task(self.activity_type, start, end)


class ExtractCustomObject(_ExtractTask):
    """``raw/<object>/run_date=D``: campaign responses of ``[D, D+1)`` by RespondedAt; all SFDC campaigns."""

    object_name = luigi.ChoiceParameter(choices=tuple(CUSTOM_OBJECTS), var_type=str)
    date = DataDayParameter()

    def output(self) -> DatasetTarget:
        lake = configured_lake()
        return DatasetTarget(lake, lake.layout.raw_custom_object(self.object_name, self.date))

    def run(self) -> None:
        _check_day_is_over(self.date)
        obj = CUSTOM_OBJECTS[self.object_name]
        window_column = CUSTOM_OBJECT_WINDOW.get(obj.name)
        since, until = self.date, self.date + dt.timedelta(days=1)
        extra = {"run_date": self.date.isoformat()}

        def plan(client: EloquaClient) -> ExportPlan:
            fields = definition_fields(client, obj, export_entity(client, obj))
            if window_column is None:
                return ExportPlan(fields, None, "full", extra=extra)
            # Windows are UTC days; a window on an instance-time field is written in the instance's clock.
            zone = instance_timezone() if obj.column(window_column).instance_time else None
            return ExportPlan(fields, window_filter(fields[window_column], since, until, zone), "window",
                              window_column,
                              since=_midnight(since), until=_midnight(until), extra=extra)

        self._extract(obj, f"SCC {obj.name} {self.date}", plan)


class ExtractAll(luigi.WrapperTask):
    """Everything one nightly run reads: contacts, the 90-day lookback of every pipeline type, both CDOs."""

    date = DataDayParameter()
    full_refresh = luigi.BoolParameter(default=False)

    def requires(self) -> Iterator[luigi.Task]:
        yield ExtractContacts(date=self.date, full_refresh=self.full_refresh)
        for activity_type in PIPELINE_ACTIVITY_TYPES:
            yield ExtractActivityLookback(date=self.date, activity_type=activity_type)
        for name in CUSTOM_OBJECTS:
            yield ExtractCustomObject(object_name=name, date=self.date)
