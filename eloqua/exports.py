"""The resumable export exchange: one Eloqua Bulk export from plan to a dataset published in the lake.

    export = Export(obj=CONTACTS, dataset_url=lake.layout.raw_contacts(D), state_url=..., label="...",
                    definition_name="SCC contacts D", planner=contacts_plan(lake, D, full_refresh=False))
    manifest = run(client, lake, export, ExportSettings())          # idempotent; resumes after a kill

:func:`run` publishes one dataset; :func:`run_range` exports one activity sync over consecutive days and
publishes one dataset per day, or, when the sync holds ``max_rows`` rows or more, drops it and returns the
two halves to export instead (Eloqua stops an activity export at 5,000,000 rows).

Resume: before starting a sync the run writes its state (staging URL and plan) to ``state_url``, then adds the
definition and sync uris. A rerun after a kill continues that sync while Eloqua retains its data: pages already
written as part files are not fetched again. If the sync expired (404/410) the staging folder is emptied and a new
sync started. Within one run, a sync that ends in ``error`` or whose data expires early is dropped (its data
released in Eloqua) and replaced by a new sync, at most ``max_sync_restarts`` times; then the task fails with one
line. On success the staging folder is published with ``_SUCCESS`` and the state file deleted; then staging folders
and state files of killed runs older than ``cleanup_age`` are removed (``lake/cleanup.py``) and their syncs' data
released. A range stages its pages in ``<staging>/pages``, splits them by day into ``<staging>/split/<day>`` (phase
``splitting``: redone whole after a kill, from the pages) and then publishes the days one by one (phase
``publishing``: days already complete are skipped). A halved range records ``phase: halved`` and its halves.

Manifest ``_export.json``, written into the dataset before it is published (the one manifest writer)::

    {"format": 1, "object": "contacts", "task": "<label>",
     "mode": "full" | "increment" | "window",  "window_column": "UpdatedAt" | null,
     "since": "YYYY-MM-DD 00:00:00" | null,     "until": "YYYY-MM-DD 00:00:00" | null,   (UTC, [since, until))
     "base_snapshot": "YYYY-MM-DD" | null,      "filter": "<EEL>" | null,
     "rows": 123, "definition_uri": "/contacts/exports/7", "sync_uri": "/syncs/12", "exported_at": "...Z"}

Activity days also carry ``activity_type`` and ``activity_date``; a day split out of a range sync adds
``sync_since``/``sync_until`` (the sync's window) and ``sync_rows``. ``sync_uri`` + ``exported_at`` identify
the export: the stages that read a dataset record them to know when it was replaced.
"""

from __future__ import annotations

import datetime as dt
import logging
import tempfile
import uuid
from dataclasses import asdict, dataclass, field
from typing import Any

import pyarrow.fs as pafs

from contract.objects import EloquaObject
from eloqua.client import MAX_DATA_LIMIT, EloquaClient
from eloqua.errors import ConfigurationError, EloquaError, Expired, ExportIncomplete, SyncFailed
from eloqua.export import (
    TRANSFERS,
    DaySplit,
    Transfer,
    arrow_schema,
    export_to_parquet,
    scan_parts,
    split_by_day,
    start_export,
)
from eloqua.progress import progress_for
from eloqua.windows import Planner, halves, midnight
from lake.cleanup import DEFAULT_AGE, is_abandoned, stale_files, sweep
from lake.paths import staging_url
from lake.storage import Lake, read_batches, within_deadline

log = logging.getLogger("luigi-interface")

MANIFEST = "_export.json"
MANIFEST_FORMAT = 1
# Eloqua stops an activity export at 5,000,000 rows (docs/eloqua.md); a range that large is halved
ELOQUA_ACTIVITY_EXPORT_CAP = 5_000_000
EXPORTED_ROWS_LOG = "ELQ-00102"  # "Successfully exported members to csv file.", count = rows exported
MAX_CONCURRENCY = 32  # pages in flight per export; more only queues at Eloqua's throttle
# Each restart is a whole new sync in Eloqua: a few cover a transient failure, more only burns the sync cap.
MAX_SYNC_RESTARTS = 5


@dataclass(frozen=True)
class ExportSettings:
    """How an export is transferred (none of these changes which rows are exported)."""

    page_size: int = 50_000
    concurrency: int = 3
    sync_timeout: float = 6 * 3600.0
    data_retention: str = "P1D"
    transfer: Transfer = "json"
    # seconds a range's split may take before it is abandoned (a store that stopped answering mid-write)
    write_deadline: float = 3600.0
    # new syncs one run may start after a sync ended in error or its data expired early (404/410)
    max_sync_restarts: int = 1
    # seconds after which what a killed run left (staging folders, superseded state) counts as abandoned
    cleanup_age: float = DEFAULT_AGE

    def __post_init__(self) -> None:
        if self.transfer not in TRANSFERS:
            raise ValueError(f"transfer {self.transfer!r} is neither 'json' nor 'csv'")
        # Checked here, before any sync is started: Eloqua would refuse the first page only after the sync.
        for name, value, low, high in (("page_size", self.page_size, 1, MAX_DATA_LIMIT),
                                       ("concurrency", self.concurrency, 1, MAX_CONCURRENCY)):
            if not low <= value <= high:
                raise ConfigurationError(f"[extract] {name} = {value} is out of range: use {low}..{high}")
        if not 0 <= self.max_sync_restarts <= MAX_SYNC_RESTARTS:
            raise ConfigurationError(f"[extract] max_sync_restarts = {self.max_sync_restarts} is out of range: "
                                     f"use 0..{MAX_SYNC_RESTARTS}")
        for name, seconds in (("sync_timeout", self.sync_timeout), ("write_deadline", self.write_deadline),
                              ("cleanup_age", self.cleanup_age)):
            if not seconds > 0:
                raise ConfigurationError(f"[extract] {name} = {seconds} is out of range: use a positive number "
                                         "of seconds")


@dataclass(frozen=True)
class Export:
    """One export exchange: what to export (``obj``, ``planner``), where to publish it (``dataset_url``), where
    its resume state lives (``state_url``), how it is named in logs, manifests and Eloqua (``label``,
    ``definition_name``) and the row count at which a sync is refused (``max_rows``, activities only)."""

    obj: EloquaObject
    dataset_url: str
    state_url: str
    label: str
    definition_name: str
    planner: Planner
    max_rows: int | None = None


@dataclass(frozen=True)
class RangeExport(Export):
    """An activity export over the consecutive ``days`` of one ``activity_type``, published per day;
    ``dataset_url`` is the first day's dataset (the staging folder goes beside it)."""

    activity_type: str = ""
    days: tuple[dt.date, ...] = ()


def run(client: EloquaClient, lake: Lake, export: Export, settings: ExportSettings) -> dict[str, Any]:
    """Export ``export`` into its dataset (resuming a recorded sync) and return the published manifest."""
    return _Run(lake=lake, client=client, obj=export.obj, dataset_url=export.dataset_url,
                state_url=export.state_url, task_id=export.label, definition_name=export.definition_name,
                planner=export.planner, settings=settings, max_rows=export.max_rows).execute()


def run_range(client: EloquaClient, lake: Lake, export: RangeExport,
              settings: ExportSettings) -> list[tuple[dt.date, dt.date]]:
    """Publish every day of ``export`` not complete yet and return ``[]``; or, when its sync holds
    ``max_rows`` rows or more and spans several days, drop it and return the two halves to export instead."""
    return _RangeRun(lake=lake, client=client, obj=export.obj, dataset_url=export.dataset_url,
                     state_url=export.state_url, task_id=export.label, definition_name=export.definition_name,
                     planner=export.planner, settings=settings, max_rows=export.max_rows,
                     activity_type=export.activity_type, days=list(export.days)).execute_range()


def forget(lake: Lake, export: Export) -> None:
    """Delete the resume state of ``export`` (once the halves of a halved range are done)."""
    lake.delete(export.state_url)


class ExportTooLarge(EloquaError):
    """An activity sync holding ``max_rows_per_sync`` rows or more: Eloqua may have cut it short."""

    def __init__(self, message: str, rows: int) -> None:
        super().__init__(message)
        self.rows = rows


def sync_row_count(client: EloquaClient, sync_uri: str) -> int:
    """Rows a finished export sync holds: the ELQ-00102 log count (as tap-eloqua reads it), else the data's
    ``totalResults``."""
    counts = [int(entry["count"]) for entry in client.sync_logs(sync_uri)
              if entry.get("statusCode") == EXPORTED_ROWS_LOG and str(entry.get("count", "")).isdigit()]
    if counts:
        return max(counts)
    return int(client.get_sync_data(sync_uri, limit=1).get("totalResults") or 0)


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
    settings: ExportSettings
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
        self._clean_up()
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
        restarts = 0
        while True:
            if state is None:
                state = self._start()
            try:
                return state, self._download(state)
            except ExportTooLarge as exc:
                raise _Oversized(state, exc) from None
            except (Expired, ExportIncomplete) as exc:
                if resumed:
                    # a sync recorded by an earlier run: its data may simply have outlived its retention
                    log.warning("%s: cannot resume sync %s (%s); starting a new sync",
                                self.task_id, state["sync_uri"], exc)
                    self._discard(state, reason="its data expired or no longer fits", release=True)
                    state, resumed = None, False
                    continue
                if isinstance(exc, ExportIncomplete):
                    raise
                restarts = self._restart_or_fail(state, exc, restarts, "its data expired early")
                state = None
            except SyncFailed as exc:
                restarts = self._restart_or_fail(state, exc, restarts, "it ended in error")
                state = None

    def _restart_or_fail(self, state: dict[str, Any], exc: EloquaError, restarts: int, what: str) -> int:
        """Discard a sync of this run that failed or expired early; return the new restart count, or raise
        (one line) once ``max_sync_restarts`` new syncs were already started for it."""
        # Either way the sync is dropped (its data released in Eloqua): a rerun must start a new sync, not
        # wait on this one again, and Eloqua's staging area is shared by the whole instance.
        self._discard(state, reason=what, release=True)
        limit = self.settings.max_sync_restarts
        if restarts >= limit:
            raise SyncFailed(
                f"{self.task_id}: sync {state['sync_uri']} failed ({what}: {exc}) after {restarts} new "
                f"sync(s) in this run ([extract] max_sync_restarts = {limit}); rerun later",
                sync_uri=str(state["sync_uri"]), status=getattr(exc, "status", "error")) from None
        log.warning("%s: sync %s failed (%s: %s); starting new sync %d of at most %d in this run",
                    self.task_id, state["sync_uri"], what, exc, restarts + 1, limit)
        return restarts + 1

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

    def _clean_up(self) -> None:
        """After a publication: remove what killed runs left beside the dataset and in this task family's
        state folder, once older than ``cleanup_age`` (a live run's files are always younger)."""
        age = self.settings.cleanup_age
        try:
            sweep(self.lake, self.dataset_url.rstrip("/").rpartition("/")[0], age)
            stale = stale_files(self.lake, self.state_url.rpartition("/")[0], age)
        except Exception as exc:  # the dataset is published: a leftover is worth a log line, not a failure
            log.info("%s: no cleanup this time (%s)", self.task_id, exc)
            return
        for url in stale:
            if url == self.state_url:
                continue
            try:
                state = self.lake.read_json(url, default=None)
                if not isinstance(state, dict) or state.get("phase") == "halved":
                    continue  # a halved range's record guards against a second oversized sync: kept
                staging = state.get("staging_url")
                if staging and self.lake.exists(staging):
                    if not is_abandoned(self.lake, staging, age):
                        continue  # its run is still writing pages
                    self.lake.delete(staging, recursive=True)
                if state.get("sync_uri"):
                    self._release_eloqua_data(state["sync_uri"])
                self.lake.delete(url)
                log.info("%s: removed the superseded state %s (sync %s)", self.task_id, url,
                         state.get("sync_uri") or "not started")
            except Exception as exc:  # cleanup never fails the publication before it
                log.info("%s: could not remove the superseded state %s (%s)", self.task_id, url, exc)

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
        self._clean_up()
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
        """Rewrite the pages as ``split/<day>/part-0000000000.parquet``, one file per day of the range (empty
        days get a file of no rows). The files are written in a local scratch folder, then copied: memory is
        bounded by :data:`eloqua.export.SPLIT_BUFFER_BYTES`, not by the range's rows."""
        split_url = self._split_url(state)
        self.lake.delete(split_url, recursive=True)  # a split a kill interrupted is redone whole
        filesystem, pages = self.lake.fs_path(self._pages_url(state))
        _, split = self.lake.fs_path(split_url)
        schema = arrow_schema(self.obj)
        with self.lake.io_errors(split_url, "write"), tempfile.TemporaryDirectory(prefix="scc-split-") as scratch:
            parts = [p.path for p in scan_parts(filesystem, pages)]

            def split_and_copy() -> DaySplit:
                done = split_by_day(read_batches(filesystem, parts, schema=schema), schema, "ActivityDate",
                                    self.days, scratch)
                pafs.copy_files(scratch, split, source_filesystem=pafs.LocalFileSystem(),
                                destination_filesystem=filesystem)
                return done

            done = within_deadline(self.settings.write_deadline, split_url, "split the range into", split_and_copy)
        if done.outside or sum(done.day_rows.values()) != state["rows"]:
            raise ExportIncomplete(
                f"sync {state['sync_uri']} returned {done.outside} of its {state['rows']} rows outside "
                f"{self.days[0]}..{self.days[-1]} or without an ActivityDate: check the export "
                f"definition's filter, delete {self.state_url} and rerun")
        state.update(phase="publishing", day_rows={d.isoformat(): rows for d, rows in done.day_rows.items()})
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
                "since": midnight(d),
                "until": midnight(following),
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
