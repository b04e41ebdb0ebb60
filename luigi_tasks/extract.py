"""Extract stage: Eloqua Bulk exports into the lake's raw zone as Parquet.

    luigi --module luigi_tasks.extract ExtractAll --date 2026-11-27     # everything one nightly run needs
    luigi --module luigi_tasks.extract ExtractContacts --date 2026-11-27 --full-refresh
    luigi --module luigi_tasks.extract ExtractActivities --activity-type EmailOpen --date 2026-11-27

Each task is parameters, ``requires``, ``output`` and one call into :mod:`eloqua.exports` (the resumable
exchange: definition, sync, pages, resume state, manifest, publication) with a plan from :mod:`eloqua.windows`.
The lake is resolved by ``luigi_tasks.config`` (``--lake`` > ``$SCC_LAKE_URL`` > ``[lake] url``); Eloqua
credentials come only from ``ELOQUA_*`` variables. Knobs live in ``[extract]``.

Outputs (each a Parquet folder published whole with ``_SUCCESS``, plus an ``_export.json`` manifest):

* ``ExtractContacts(date)`` -> ``raw/contacts/run_date=D``: a full export on a first run or with
  ``--full-refresh``, else the increment since the latest earlier snapshot (:func:`eloqua.windows.contacts_plan`).
* ``ExtractActivities(activity_type, date)`` -> ``raw/activities/activity_type=T/activity_date=D``.
* ``ExtractActivityRange(activity_type, start, end)`` -> the same day partitions for ``start .. end`` from ONE
  sync, split by day; a sync of ``[extract] max_rows_per_sync`` rows or more is dropped and the range halved
  (dynamic dependencies); one day that large fails.
* ``ExtractActivityLookback(date, activity_type)``: one task per run of days of the lookback missing from the
  lake, decided at scheduling time.
* ``ExtractCustomObject(object_name, date)`` -> ``raw/<object>/run_date=D``.

Every task holds one unit of the luigid resource ``eloqua_bulk_syncs`` while it runs, so no more syncs than
``[resources] eloqua_bulk_syncs`` are ever active against Eloqua, however many workers share the scheduler.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from typing import Any

import luigi

from contract.calendar import days_between
from contract.objects import (
    ACTIVITIES,
    CAMPAIGN_RESPONSES,
    CONTACTS,
    PIPELINE_ACTIVITY_TYPES,
    SANDBOX_EXTRA_ACTIVITY_TYPES,
    SFDC_CAMPAIGNS,
    EloquaObject,
)
from contract.settings import load_settings
from eloqua.client import EloquaClient
from eloqua.errors import EloquaError
from eloqua.exports import (
    ELOQUA_ACTIVITY_EXPORT_CAP,
    MANIFEST,
    Export,
    ExportSettings,
    RangeExport,
    forget,
    run,
    run_range,
)
from eloqua.windows import (
    DataDayError,
    Planner,
    activity_plan,
    check_day_is_over,
    contacts_plan,
    contiguous_runs,
    custom_object_plan,
    missing_days,
)
from lake.cleanup import DEFAULT_AGE
from lake.errors import LakeError
from lake.paths import day
from lake.storage import Lake
from luigi_tasks.redaction import redact
from luigi_tasks.targets import DatasetTarget, OnLake

RESOURCE = "eloqua_bulk_syncs"
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
    max_rows_per_sync = luigi.IntParameter(
        default=ELOQUA_ACTIVITY_EXPORT_CAP,
        description="an activity sync with this many rows may be truncated: a range of days is halved, "
                    "a single day fails")
    transfer = luigi.ChoiceParameter(
        default="json", choices=["json", "csv"], var_type=str,
        description="page format of /syncs/{id}/data: json (the well-trodden path) or csv (about 3x faster to "
                    "convert, same Parquet; see bench/README.md)")

    write_deadline = luigi.FloatParameter(
        default=3600.0, description="seconds a range's split may take before it is abandoned (a store that "
                                    "stopped answering mid-write); the rerun redoes it")
    max_sync_restarts = luigi.IntParameter(
        default=1, description="new syncs one export may start in a run after its sync ended in error or its "
                               "data expired early (0..5); beyond it the task fails")
    cleanup_age = luigi.FloatParameter(
        default=DEFAULT_AGE, description="seconds after which a killed run's staging folders and state files "
                                         "are removed by the next publication into the same place")

    def export_settings(self) -> ExportSettings:
        return ExportSettings(page_size=self.page_size, concurrency=self.concurrency,
                              sync_timeout=self.sync_timeout, data_retention=self.data_retention,
                              transfer="csv" if self.transfer == "csv" else "json",
                              write_deadline=self.write_deadline,
                              max_sync_restarts=self.max_sync_restarts, cleanup_age=self.cleanup_age)


def lookback_days(date: dt.date) -> int:
    """How many data days lead scoring reads for ``date`` (``[lead_scoring] lookback_days``), so the extract
    fetches exactly what the Spark jobs read."""
    return load_settings().lead_scoring.lookback_days


def task_label(task: luigi.Task) -> str:
    """``Family(param=value, ...)`` without the lake: what messages and manifests call the task (the lake
    is named where it matters, and a manifest lives in its lake)."""
    params = ", ".join(f"{k}={v}" for k, v in task.to_str_params(only_significant=True).items()
                       if k != "target_lake")
    return f"{task.get_task_family()}({params})"


def state_url(lake: Lake, task: luigi.Task) -> str:
    """``_state/extract/<Task>/<param=value,...>.json``: the resume record of one task."""
    # The lake is in the task's identity but not in its state file's name: the state lives in that lake.
    params = ",".join(f"{k}={v}" for k, v in task.to_str_params(only_significant=True).items()
                      if k != "target_lake")
    return lake.layout.state("extract", task.get_task_family(), f"{params}.json")


class DataDayParameter(luigi.DateParameter):
    """A data day ``YYYY-MM-DD``; anything else is refused with one line saying what is expected."""

    def parse(self, s: str) -> dt.date:
        return dt.date.fromisoformat(day(s))


class _ExtractTask(OnLake, luigi.Task):
    """Base of the extract tasks: holds one Eloqua sync slot while running; failures report one line."""

    resources = {RESOURCE: 1}

    def on_failure(self, exception: BaseException) -> str:
        # The luigid UI and error e-mails get the actionable line, not a stack trace of an expected failure;
        # either way no configured secret value reaches luigid.
        if isinstance(exception, EloquaError | LakeError | DataDayError):
            return redact(f"{type(exception).__name__}: {exception}")
        return redact(super().on_failure(exception))

    def _client(self, config: extract) -> EloquaClient:
        return EloquaClient.from_env(pool_size=max(4, config.concurrency + 2))

    def _export(self, obj: EloquaObject, definition_name: str, planner: Planner,
                max_rows: int | None = None) -> dict[str, Any]:
        lake, config = self.lake, extract()
        export = Export(obj=obj, dataset_url=self.output().url, state_url=state_url(lake, self), label=task_label(self),
                        definition_name=definition_name, planner=planner, max_rows=max_rows)
        with self._client(config) as client:
            return run(client, lake, export, config.export_settings())


class ExtractContacts(_ExtractTask):
    """``raw/contacts/run_date=D``: all contacts on a first run or with --full-refresh, else an increment."""

    date = DataDayParameter()
    full_refresh = luigi.BoolParameter(default=False)

    def output(self) -> DatasetTarget:
        return DatasetTarget(self.lake, self.lake.layout.raw_contacts(self.date))

    def complete(self) -> bool:
        # A full refresh is done only when the day's export is a full one; an increment does not satisfy it.
        if not super().complete():
            return False
        if not self.full_refresh:
            return True
        manifest = self.lake.read_json(self.output().url + "/" + MANIFEST, default={})
        return manifest.get("mode") == "full"

    def run(self) -> None:
        check_day_is_over(self.date)
        name = f"SCC contacts {self.date}" + (" full refresh" if self.full_refresh else "")
        self._export(CONTACTS, name, contacts_plan(self.lake, self.date, self.full_refresh))


class ExtractActivities(_ExtractTask):
    """``raw/activities/activity_type=T/activity_date=D``: activities of type T created in ``[D, D+1)``."""

    activity_type = luigi.ChoiceParameter(choices=ACTIVITY_TYPES, var_type=str)
    date = DataDayParameter()

    def output(self) -> DatasetTarget:
        return DatasetTarget(self.lake, self.lake.layout.raw_activities(self.activity_type, self.date))

    def run(self) -> None:
        check_day_is_over(self.date)
        plan = activity_plan(self.activity_type, self.date, self.date + dt.timedelta(days=1),
                             activity_date=self.date.isoformat())
        self._export(ACTIVITIES, f"SCC activities {self.activity_type} {self.date}", lambda client: plan,
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
        lake = self.lake
        return [DatasetTarget(lake, lake.layout.raw_activities(self.activity_type, d)) for d in self.days()]

    def _range_export(self, lake: Lake, config: extract) -> RangeExport:
        plan = activity_plan(self.activity_type, self.start, self.end + dt.timedelta(days=1))
        return RangeExport(
            obj=ACTIVITIES, dataset_url=lake.layout.raw_activities(self.activity_type, self.start),
            state_url=state_url(lake, self), label=task_label(self),
            definition_name=f"SCC activities {self.activity_type} {self.start}..{self.end}",
            planner=lambda client: plan, max_rows=config.max_rows_per_sync,
            activity_type=self.activity_type, days=tuple(self.days()))

    def run(self) -> Iterator[list[luigi.Task]]:
        check_day_is_over(self.end)
        lake, config = self.lake, extract()
        export = self._range_export(lake, config)
        with self._client(config) as client:
            parts = run_range(client, lake, export, config.export_settings())
        if parts:
            # dynamic dependencies: luigi runs the halves, then calls run() again, which lands here once more
            yield [activity_task(self.activity_type, a, b, self.target_lake) for a, b in parts]
            forget(lake, export)


def activity_task(activity_type: str, start: dt.date, end: dt.date,
                  target_lake: str | None = None) -> ExtractActivities | ExtractActivityRange:
    """The task extracting ``start .. end`` (on ``target_lake``, default the resolved lake): ExtractActivities
    for one day, else ExtractActivityRange."""
    lake = {} if target_lake is None else {"target_lake": target_lake}
    if start == end:
        return ExtractActivities(activity_type=activity_type, date=start, **lake)
    return ExtractActivityRange(activity_type=activity_type, start=start, end=end, **lake)


class ExtractActivityLookback(OnLake, luigi.WrapperTask):
    """Activities of one type for the lookback ``D-(n-1) .. D``: one task per run of days missing from the
    lake, decided when the task is scheduled (days already present are never fetched again)."""

    date = DataDayParameter()
    activity_type = luigi.ChoiceParameter(choices=ACTIVITY_TYPES, var_type=str)

    def missing_days(self) -> list[dt.date]:
        return missing_days(self.lake, self.activity_type, self.date, lookback_days(self.date))

    def requires(self) -> list[ExtractActivities | ExtractActivityRange]:
        try:
            days = self.missing_days()
        except LakeError:
            # luigi calls requires() again while summarising: a storage outage by then must not turn the
            # run's one-line failure into a traceback, so the plan made at scheduling time stands.
            if "_plan" not in self.__dict__:
                raise
            return list(self.__dict__["_plan"])
        plan = [activity_task(self.activity_type, start, end, self.target_lake)
                for start, end in contiguous_runs(days)]
        self.__dict__["_plan"] = plan
        return plan


class ExtractCustomObject(_ExtractTask):
    """``raw/<object>/run_date=D``: campaign responses of ``[D, D+1)`` by RespondedAt; all SFDC campaigns."""

    object_name = luigi.ChoiceParameter(choices=tuple(CUSTOM_OBJECTS), var_type=str)
    date = DataDayParameter()

    def output(self) -> DatasetTarget:
        return DatasetTarget(self.lake, self.lake.layout.raw_custom_object(self.object_name, self.date))

    def run(self) -> None:
        check_day_is_over(self.date)
        obj = CUSTOM_OBJECTS[self.object_name]
        plan = custom_object_plan(obj, self.date, CUSTOM_OBJECT_WINDOW.get(obj.name))
        self._export(obj, f"SCC {obj.name} {self.date}", plan)


class ExtractAll(OnLake, luigi.WrapperTask):
    """Everything one nightly run reads: contacts, the lookback of every pipeline type, both CDOs."""

    date = DataDayParameter()
    full_refresh = luigi.BoolParameter(default=False)

    def requires(self) -> Iterator[luigi.Task]:
        lake = self.target_lake
        yield ExtractContacts(date=self.date, full_refresh=self.full_refresh, target_lake=lake)
        for activity_type in PIPELINE_ACTIVITY_TYPES:
            yield ExtractActivityLookback(date=self.date, activity_type=activity_type, target_lake=lake)
        for name in CUSTOM_OBJECTS:
            yield ExtractCustomObject(object_name=name, date=self.date, target_lake=lake)
