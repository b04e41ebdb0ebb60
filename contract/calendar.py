"""Pure calendar math of the data days, shared by the extract (what to fetch) and the Spark jobs (what to read).

A data day D is the UTC day ``[D 00:00, D+1 00:00)``. The lookback of ``n`` days ending with D is the days
``D-(n-1) .. D``; its window is ``[D-(n-1) 00:00, D+1 00:00)`` UTC.
"""

from __future__ import annotations

import datetime as dt


def lookback_days(run_date: dt.date, days: int) -> tuple[dt.date, ...]:
    """The data days of a lookback of ``days`` days ending with ``run_date``, oldest first."""
    if days < 1:
        raise ValueError(f"lookback of {days} days: expected at least 1")
    return tuple(run_date - dt.timedelta(days=n) for n in range(days - 1, -1, -1))


def lookback_bounds(run_date: dt.date, days: int) -> tuple[dt.datetime, dt.datetime]:
    """``[start, end)`` of the lookback as naive UTC datetimes: ``[D-(days-1) 00:00, D+1 00:00)``."""
    first = lookback_days(run_date, days)[0]
    return dt.datetime.combine(first, dt.time()), dt.datetime.combine(run_date + dt.timedelta(days=1), dt.time())


def days_between(start: dt.date, end: dt.date) -> list[dt.date]:
    """``start .. end`` inclusive, oldest first (empty when ``end < start``)."""
    return [start + dt.timedelta(days=n) for n in range((end - start).days + 1)]
