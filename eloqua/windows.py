"""Which rows an export asks Eloqua for: data-day windows as EEL filters, the plan of each extract, and the
planning of a lookback (which days are missing, in which runs, how a too-large range is halved).

A data day D is the UTC day ``[D 00:00, D+1 00:00)``. Filters compare a field with Eloqua's
``'YYYY-MM-DD HH:MM:SS'`` literals, which Eloqua reads in the clock of that field: UTC for the system
timestamps an export asks in UTC (``areSystemTimestampsInUTC``), the instance's time zone for other date
fields. :func:`window_filter` is the one writer of such a filter.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import tzinfo
from typing import Any

from contract.calendar import lookback_days
from contract.objects import ACTIVITIES, BOUNCEBACK_ONLY_COLUMNS, CONTACTS, EloquaObject
from eloqua.client import EloquaClient
from eloqua.export import definition_fields, export_entity
from eloqua.settings import instance_timezone
from lake.paths import run_dates
from lake.storage import Lake


class DataDayError(ValueError):
    """A data day that cannot be extracted (not over yet)."""


def check_day_is_over(date: dt.date, now: dt.datetime | None = None) -> None:
    """Raise :class:`DataDayError` unless data day ``date`` is over (exporting it would freeze a partial day)."""
    end = dt.datetime.combine(date + dt.timedelta(days=1), dt.time(), dt.UTC)
    if end > (now or dt.datetime.now(dt.UTC)):
        raise DataDayError(f"data day {date} is not over until {end:%Y-%m-%d %H:%M} UTC: extracting it now "
                           "would freeze a partial day; pass an earlier --date")


def midnight(day: dt.date) -> str:
    """UTC midnight of ``day`` as the manifests write it: ``YYYY-MM-DD 00:00:00``."""
    return f"{day.isoformat()} 00:00:00"


def window_filter(statement: str, start: dt.datetime | dt.date | str | None,
                  end: dt.datetime | dt.date | str, timezone: tzinfo | None = None) -> str:
    """EEL for ``start <= statement < end`` with Eloqua's ``'YYYY-MM-DD HH:MM:SS'`` literals; without
    ``start`` only the upper bound.

    ``start``/``end`` are UTC (naive, aware, or dates meaning UTC midnight). Eloqua reads a literal in the
    clock of the field it is compared with: pass the instance's ``timezone`` for an ``instance_time`` field
    and the literals are the UTC bounds expressed in that zone; None writes UTC (system timestamps exported
    with ``areSystemTimestampsInUTC``).
    """
    upper = f"'{statement}' < '{_eel_time(end, timezone)}'"
    return upper if start is None else f"'{statement}' >= '{_eel_time(start, timezone)}' AND {upper}"


def _eel_time(value: dt.datetime | dt.date | str, timezone: tzinfo | None = None) -> str:
    if isinstance(value, str):
        value = dt.datetime.fromisoformat(value)
    if not isinstance(value, dt.datetime):
        value = dt.datetime(value.year, value.month, value.day)
    if value.tzinfo is None:
        value = value.replace(tzinfo=dt.UTC)
    value = value.astimezone(timezone or dt.UTC).replace(tzinfo=None)
    return value.strftime("%Y-%m-%d %H:%M:%S")


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


def missing_days(lake: Lake, activity_type: str, run_date: dt.date, days: int) -> list[dt.date]:
    """The days of the ``days``-day lookback ending with ``run_date`` whose activities of ``activity_type``
    are not complete in the lake, oldest first."""
    return [d for d in lookback_days(run_date, days)
            if not lake.is_complete(lake.layout.raw_activities(activity_type, d))]


def latest_snapshot_before(lake: Lake, date: dt.date) -> dt.date | None:
    """The run date of the latest complete ``staged/contacts`` snapshot strictly before ``date``, if any."""
    days = run_dates(lake.list_datasets(lake.layout.staged_contacts_root()))
    earlier = [d for d in days if d < date]
    return max(earlier) if earlier else None


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
    return f"'{type_statement}' = '{activity_type}' AND {window_filter(created_statement, since, until)}"


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
                      "ActivityDate", since=midnight(since), until=midnight(until),
                      extra={"activity_type": activity_type, **extra})


def contacts_plan(lake: Lake, run_date: dt.date, full_refresh: bool) -> Planner:
    """All contacts updated before D+1 on a first run or a full refresh, else the increment since the latest
    earlier snapshot B: ``UpdatedAt`` in ``[B+1, D+1)`` (``[D, D+1)`` on a normal night, no day lost after a
    missed one). Decided when the sync starts, so a resumed run keeps its recorded plan."""
    until = run_date + dt.timedelta(days=1)
    statement = CONTACTS.updated_at_statement or CONTACTS.column("UpdatedAt").statement or ""
    extra = {"run_date": run_date.isoformat()}

    def plan(client: EloquaClient) -> ExportPlan:
        fields = {c.name: c.statement or "" for c in CONTACTS.columns}
        base = None if full_refresh else latest_snapshot_before(lake, run_date)
        if base is None:
            return ExportPlan(fields, window_filter(statement, None, until), "full", "UpdatedAt",
                              until=midnight(until), extra=extra)
        since = base + dt.timedelta(days=1)
        return ExportPlan(fields, window_filter(statement, since, until), "increment", "UpdatedAt",
                          since=midnight(since), until=midnight(until), base_snapshot=base.isoformat(),
                          extra=extra)

    return plan


def custom_object_plan(obj: EloquaObject, run_date: dt.date, window_column: str | None) -> Planner:
    """A custom object in full (``window_column`` None) or its rows with ``window_column`` in ``[D, D+1)``."""
    since, until = run_date, run_date + dt.timedelta(days=1)
    extra = {"run_date": run_date.isoformat()}

    def plan(client: EloquaClient) -> ExportPlan:
        fields = definition_fields(client, obj, export_entity(client, obj))
        if window_column is None:
            return ExportPlan(fields, None, "full", extra=extra)
        # Windows are UTC days; a window on an instance-time field is written in the instance's clock.
        zone = instance_timezone() if obj.column(window_column).instance_time else None
        return ExportPlan(fields, window_filter(fields[window_column], since, until, zone), "window",
                          window_column, since=midnight(since), until=midnight(until), extra=extra)

    return plan
