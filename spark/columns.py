"""``Column -> Column`` helpers shared by the rules, and the UTC windows of a data day (spec section 1).

Normalisation follows the spec's Spark SQL wording literally: ``trim`` is Spark's ``trim`` (spaces only).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass

from pyspark.sql import Column
from pyspark.sql import functions as F

from contract.calendar import lookback_bounds

VALID_EMAIL_PATTERN = r"^[a-z0-9._%+'-]+@[a-z0-9-]+(\.[a-z0-9-]+)*\.[a-z]{2,}$"


def normalized_email(email: Column) -> Column:
    """``lower(trim(email))``: the key contacts, activities and responses are matched on."""
    return F.lower(F.trim(email))


def is_valid_email(email: Column) -> Column:
    """True when the normalised email matches the spec's pattern; null stays null."""
    return normalized_email(email).rlike(VALID_EMAIL_PATTERN)


def is_blank(value: Column) -> Column:
    """True for null, empty or all-space strings (never null)."""
    return value.isNull() | (F.trim(value) == F.lit(""))


def country_key(country: Column) -> Column:
    """``upper(trim(Country))`` with runs of whitespace collapsed to one space: the ``countries.csv`` alias
    key.

    Whitespace is collapsed before trimming, so a tab at either end is dropped too.
    """
    return F.trim(F.regexp_replace(F.upper(country), r"\s+", " "))


def state_key(state: Column) -> Column:
    """``upper(trim(StateProv))``: the ``states.csv`` alias key."""
    return F.upper(F.trim(state))


def response_status_key(status: Column) -> Column:
    """``lower(trim(status))`` with ``-``, ``_`` and whitespace runs folded to one space, in the spec's order:
    folding comes after the trim, so a trailing separator leaves a space and the value matches none of the five."""
    return F.regexp_replace(F.lower(F.trim(status)), r"[\s_-]+", " ")


def null_safe_differs(left: Column, right: Column) -> Column:
    """True when the values differ, treating two nulls as equal and null vs a value as different."""
    return ~left.eqNullSafe(right)


def any_differs(pairs: Sequence[tuple[Column, Column]]) -> Column:
    """True when any pair differs null-safely."""
    condition = F.lit(False)
    for new, current in pairs:
        condition = condition | null_safe_differs(new, current)
    return condition


def utc_timestamp(moment: dt.datetime) -> Column:
    """A timestamp literal for a naive UTC or aware datetime, independent of the session and process time
    zones."""
    if moment.tzinfo is not None:
        moment = moment.astimezone(dt.UTC).replace(tzinfo=None)
    return F.lit(moment.strftime("%Y-%m-%dT%H:%M:%S.%fZ")).cast("timestamp")


@dataclass(frozen=True)
class TimeWindow:
    """A half-open UTC interval ``[start, end)`` (naive datetimes meaning UTC)."""

    start: dt.datetime
    end: dt.datetime

    def contains(self, ts: Column) -> Column:
        """``start <= ts < end``; null timestamps are outside (false, never null)."""
        return F.coalesce((ts >= utc_timestamp(self.start)) & (ts < utc_timestamp(self.end)), F.lit(False))


def day_window(run_date: dt.date) -> TimeWindow:
    """The window of data day D: ``[D 00:00:00, D+1 00:00:00)`` UTC."""
    start = dt.datetime.combine(run_date, dt.time())
    return TimeWindow(start, start + dt.timedelta(days=1))


def lookback_window(run_date: dt.date, days: int) -> TimeWindow:
    """The ``days`` data days ending with D: ``[D-(days-1) 00:00:00, D+1 00:00:00)`` UTC."""
    return TimeWindow(*lookback_bounds(run_date, days))

