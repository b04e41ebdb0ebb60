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
  ``Type = T`` and ``CreatedAt`` in ``[D, D+1)``. ``ExtractActivityLookback`` asks for the 90 days
  ``D-89 .. D``; days already in the lake are complete, so only missing days are fetched.
* ``ExtractCustomObject(object_name, date)`` -> ``raw/<object>/run_date=D``: ``campaign_responses`` exports
  the window ``[D, D+1)`` on ``RespondedAt`` (the only rows its pipeline reads); ``sfdc_campaigns`` in full.

Every task holds one unit of the luigid resource ``eloqua_bulk_syncs`` while it runs, so no more syncs than
``[resources] eloqua_bulk_syncs`` are ever active against Eloqua, however many workers share the scheduler.

Resume: before starting a sync a task writes ``_state/extract/<Task>/<params>.json`` (staging URL and plan),
then adds the definition and sync uris. A rerun after a kill continues that sync while Eloqua retains its
data: pages already written as part files are not fetched again. If the sync expired (404/410) the staging
folder is emptied and a new sync started. On success the staging folder is published with ``_SUCCESS`` and the
state file deleted.

Manifest ``_export.json`` (read by the contacts snapshot job to know how to merge)::

    {"format": 1, "object": "contacts", "task": "ExtractContacts(date=..., full_refresh=False)",
     "mode": "full" | "increment" | "window",  "window_column": "UpdatedAt" | null,
     "since": "YYYY-MM-DD 00:00:00" | null,     "until": "YYYY-MM-DD 00:00:00" | null,   (UTC, [since, until))
     "base_snapshot": "YYYY-MM-DD" | null,      "filter": "<EEL>" | null,
     "rows": 123, "definition_uri": "/contacts/exports/7", "sync_uri": "/syncs/12", "exported_at": "...Z"}
"""

from __future__ import annotations

import datetime as dt
import functools
import logging
import os
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass, field
from typing import Any

import luigi

from contract.lake import LakeLayout, LakeUrlError, day
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
from eloqua.client import EloquaClient
from eloqua.errors import EloquaError, Expired, ExportIncomplete, SyncFailed
from eloqua.export import arrow_schema, definition_fields, export_entity, export_to_parquet, start_export
from eloqua.progress import progress_for
from luigi_tasks.config import ConfigError, S3Settings, lake_url
from luigi_tasks.lake import Lake, LakeError

log = logging.getLogger("luigi-interface")

RESOURCE = "eloqua_bulk_syncs"
MANIFEST = "_export.json"
MANIFEST_FORMAT = 1
# spec section 1: the scoring lookback is the 90 data days D-89 .. D
LOOKBACK_DAYS = 90
ACTIVITY_TYPES = PIPELINE_ACTIVITY_TYPES + SANDBOX_EXTRA_ACTIVITY_TYPES
CUSTOM_OBJECTS: dict[str, EloquaObject] = {o.name: o for o in (CAMPAIGN_RESPONSES, SFDC_CAMPAIGNS)}
# The column whose [D, D+1) window a custom object's export keeps; objects absent here are exported in full.
CUSTOM_OBJECT_WINDOW = {CAMPAIGN_RESPONSES.name: "RespondedAt"}


class extract(luigi.Config):  # luigi names the config section after the class
    """``[extract]``: tuning knobs of every extract task (none changes which rows are exported)."""

    page_size = luigi.IntParameter(default=50_000, description="rows per /syncs/{id}/data page (1..50000)")
    concurrency = luigi.IntParameter(default=3, description="pages in flight at once per export")
    sync_timeout = luigi.FloatParameter(default=6 * 3600.0, description="seconds a sync may take")
    data_retention = luigi.Parameter(default="P1D", description="how long Eloqua keeps a sync's data")


# ---------------------------------------------------------------------------------------------- helpers


def configured_lake() -> Lake:
    """The lake of ``$SCC_LAKE_URL`` / ``[lake] url`` (one per process, so S3 clients are reused)."""
    url = lake_url()
    try:
        s3 = S3Settings.from_env_and_config() if LakeLayout(url).is_s3 else None
    except (LakeUrlError, ConfigError) as exc:
        raise LakeError(str(exc)) from None
    return _lake(url, s3, os.getpid())


@functools.lru_cache(maxsize=4)
def _lake(url: str, s3: S3Settings | None, pid: int) -> Lake:
    # pid in the key: luigi forks a process per task with --workers > 1; boto3 clients must not cross a fork.
    return Lake(url, s3)


def lookback_days(date: dt.date) -> list[dt.date]:
    """The 90 data days ``date-89 .. date``, oldest first."""
    return [date - dt.timedelta(days=n) for n in range(LOOKBACK_DAYS - 1, -1, -1)]


def _midnight(day: dt.date) -> str:
    return f"{day.isoformat()} 00:00:00"


def _window(statement: str, since: dt.date | None, until: dt.date) -> str:
    """EEL for ``since <= statement < until`` (UTC midnights); without ``since`` only the upper bound."""
    upper = f"'{statement}' < '{_midnight(until)}'"
    return upper if since is None else f"'{statement}' >= '{_midnight(since)}' AND {upper}"


class DataDayError(ValueError):
    """A ``--date`` whose data day cannot be extracted (not over yet)."""


def _check_day_is_over(date: dt.date) -> None:
    end = dt.datetime.combine(date + dt.timedelta(days=1), dt.time(), dt.UTC)
    if end > dt.datetime.now(dt.UTC):
        raise DataDayError(f"data day {date} is not over until {end:%Y-%m-%d %H:%M} UTC: extracting it now "
                           "would freeze a partial day; pass an earlier --date")


def latest_snapshot_before(lake: Lake, date: dt.date) -> dt.date | None:
    """The run date of the latest complete ``staged/contacts`` snapshot strictly before ``date``, if any."""
    days = []
    for url in lake.list_datasets(lake.layout.staged_contacts_root()):
        name = url.rsplit("/", 1)[-1]
        if name.startswith("run_date="):
            try:
                days.append(dt.date.fromisoformat(name[len("run_date="):]))
            except ValueError:
                continue
    earlier = [d for d in days if d < date]
    return max(earlier) if earlier else None


def state_url(lake: Lake, task: luigi.Task) -> str:
    """``_state/extract/<Task>/<param=value,...>.json``: the resume record of one task."""
    params = ",".join(f"{k}={v}" for k, v in task.to_str_params(only_significant=True).items())
    return lake.layout.state("extract", task.get_task_family(), f"{params}.json")


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


# ---------------------------------------------------------------------------------------------- the run


@dataclass
class _Run:
    """One task's export from plan to published dataset, resumable through its state file."""

    lake: Lake
    client: EloquaClient
    obj: EloquaObject
    dataset_url: str
    state_url: str
    task_id: str
    definition_name: str
    planner: Planner
    settings: extract

    def execute(self) -> dict[str, Any]:
        self.lake.check()
        state = self.lake.read_json(self.state_url, default=None)
        if state and state.get("phase") == "publishing":
            if self._finish_publishing(state):
                return self.lake.read_json(self.dataset_url + "/" + MANIFEST)
            state = None
        if state and not state.get("sync_uri"):
            self._discard(state, reason="killed before its sync started")  # nothing was written for it
            state = None
        resumed = state is not None
        if resumed:
            log.info("%s: resuming sync %s into %s", self.task_id, state["sync_uri"], state["staging_url"])
        while True:
            if state is None:
                state = self._start()
            try:
                result = self._download(state)
                break
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
            "exported_at": dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
        }
        self.lake.write_json(state["staging_url"] + "/" + MANIFEST, manifest)
        state["phase"] = "publishing"
        self.lake.write_json(self.state_url, state)
        self.lake.publish(state["staging_url"], self.dataset_url)
        self.lake.delete(self.state_url)
        self._release_eloqua_data(state["sync_uri"])
        return manifest

    def _start(self) -> dict[str, Any]:
        plan = self.planner(self.client)
        staging = self.lake.new_staging_url(self.dataset_url)
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
        filesystem, path = self.lake.fs_path(state["staging_url"])
        with self.lake.io_errors(state["staging_url"], "write"):
            result = export_to_parquet(
                self.client, sync_uri, arrow_schema(self.obj), filesystem, path,
                page_size=self.settings.page_size, concurrency=self.settings.concurrency,
                progress=progress_for(f"{self.task_id} {sync_uri}"))
        return result.total_rows

    def _discard(self, state: dict[str, Any], *, reason: str) -> None:
        """Forget a sync: empty its staging folder, drop its definition (best effort) and the state file."""
        self.lake.delete(state["staging_url"], recursive=True)
        if state.get("definition_uri"):
            try:
                self.client.delete_definition(state["definition_uri"])
            except EloquaError as exc:
                log.info("%s: could not delete definition %s (%s)",
                         self.task_id, state["definition_uri"], exc)
        self.lake.delete(self.state_url)
        log.info("%s: discarded %s (%s)", self.task_id, state.get("sync_uri") or "an unstarted sync", reason)

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

    def _extract(self, obj: EloquaObject, definition_name: str, planner: Planner) -> dict[str, Any]:
        lake = configured_lake()
        config = extract()
        with EloquaClient.from_env(pool_size=max(4, config.concurrency + 2)) as client:
            return _Run(lake=lake, client=client, obj=obj, dataset_url=self.output().url,
                        state_url=state_url(lake, self), task_id=str(self),
                        definition_name=definition_name, planner=planner, settings=config).execute()


class ExtractContacts(_ExtractTask):
    """``raw/contacts/run_date=D``: all contacts on a first run or with --full-refresh, else an increment."""

    date = DataDayParameter()
    full_refresh = luigi.BoolParameter(default=False)

    def output(self) -> luigi.Target:
        lake = configured_lake()
        return lake.flag_target(lake.layout.raw_contacts(self.date))

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

    def output(self) -> luigi.Target:
        lake = configured_lake()
        return lake.flag_target(lake.layout.raw_activities(self.activity_type, self.date))

    def run(self) -> None:
        _check_day_is_over(self.date)
        since, until = self.date, self.date + dt.timedelta(days=1)
        type_statement = ACTIVITIES.column("ActivityType").statement
        created_statement = ACTIVITIES.column("ActivityDate").statement or ""
        # Eloqua accepts only the fields a type has; Bounceback-only columns come out null for other types.
        columns = [c for c in ACTIVITIES.columns
                   if self.activity_type == "Bounceback" or c.name not in BOUNCEBACK_ONLY_COLUMNS]
        fields = {c.name: c.statement or "" for c in columns}
        window = _window(created_statement, since, until)
        filter_ = f"'{type_statement}' = '{self.activity_type}' AND {window}"
        plan = ExportPlan(fields, filter_, "window", "ActivityDate", since=_midnight(since),
                          until=_midnight(until), extra={"activity_type": self.activity_type,
                                                         "activity_date": self.date.isoformat()})
        self._extract(ACTIVITIES, f"SCC activities {self.activity_type} {self.date}", lambda client: plan)


class ExtractActivityLookback(luigi.WrapperTask):
    """Activities of one type for the 90 data days ``D-89 .. D``; days already in the lake are not fetched."""

    date = DataDayParameter()
    activity_type = luigi.ChoiceParameter(choices=ACTIVITY_TYPES, var_type=str)

    def requires(self) -> Iterator[ExtractActivities]:
        for data_day in lookback_days(self.date):
            yield ExtractActivities(activity_type=self.activity_type, date=data_day)


class ExtractCustomObject(_ExtractTask):
    """``raw/<object>/run_date=D``: campaign responses of ``[D, D+1)`` by RespondedAt; all SFDC campaigns."""

    object_name = luigi.ChoiceParameter(choices=tuple(CUSTOM_OBJECTS), var_type=str)
    date = DataDayParameter()

    def output(self) -> luigi.Target:
        lake = configured_lake()
        return lake.flag_target(lake.layout.raw_custom_object(self.object_name, self.date))

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
            return ExportPlan(fields, _window(fields[window_column], since, until), "window", window_column,
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
