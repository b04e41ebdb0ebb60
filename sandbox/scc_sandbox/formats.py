"""Value formats shared by the sandbox modules: Eloqua timestamps, ISO-8601 durations, typed import values.

Stored values (SQLite) are what an export prints, so pages need no conversion: text as text, numbers as
INTEGER/REAL, dates as ``YYYY-MM-DD HH:MM:SS.fff`` text (UTC), booleans as 0/1, blanks as NULL.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta, timezone
from typing import Any

EXPORT_TS = "%Y-%m-%d %H:%M:%S"


def export_ts(value: datetime) -> str:
    """A naive-UTC datetime as Eloqua exports it: ``2026-11-26 14:03:07.120`` (milliseconds)."""
    return value.isoformat(" ", "milliseconds")


def api_ts(value: datetime) -> str:
    """A naive-UTC datetime as the Bulk API writes ``createdAt``: 7 fractional digits and ``Z``."""
    return value.strftime("%Y-%m-%dT%H:%M:%S") + f".{value.microsecond:06d}0Z"


def parse_stored_ts(text: str) -> datetime:
    """Parse a stored (export-format) timestamp."""
    return datetime.fromisoformat(text)


_TS = re.compile(
    r"(\d{4})-(\d{1,2})-(\d{1,2})"
    r"(?:[ T](\d{1,2}):(\d{2})(?::(\d{2})(?:\.(\d{1,7}))?)?\s*(Z|[+-]\d{2}:?\d{2})?)?"
)
_US_DATE = re.compile(r"(\d{1,2})/(\d{1,2})/(\d{4})(?: (\d{1,2}):(\d{2})(?::(\d{2}))?( ?[AP]M)?)?", re.I)


def parse_timestamp(text: str) -> datetime | None:
    """Parse an imported date value (ISO forms, Eloqua's export form, ``M/D/YYYY [h:mm[:ss] [AM|PM]]``).

    Returns naive UTC, or None when the text is not a date. Offsets are converted to UTC; text without one
    is taken as UTC (``clock.Clock.from_instance`` reads it in the instance's time zone instead).
    """
    value = parse_timestamp_aware(text)
    if value is not None and value.tzinfo is not None:
        return value.astimezone(UTC).replace(tzinfo=None)
    return value


def parse_timestamp_aware(text: str) -> datetime | None:
    """Like :func:`parse_timestamp`, but text with ``Z`` or an offset gives an aware datetime (in that
    offset) and text without one a naive datetime, left for the caller to place in a clock."""
    text = text.strip()
    m = _TS.fullmatch(text)
    try:
        if m:
            y, mo, d, h, mi, s, frac, zone = m.groups()
            value = datetime(
                int(y),
                int(mo),
                int(d),
                int(h or 0),
                int(mi or 0),
                int(s or 0),
                int((frac or "0")[:6].ljust(6, "0")),
            )
            if zone == "Z":
                return value.replace(tzinfo=UTC)
            if zone:
                sign = 1 if zone[0] == "+" else -1
                digits = zone[1:].replace(":", "")
                offset = sign * timedelta(hours=int(digits[:2]), minutes=int(digits[2:]))
                return value.replace(tzinfo=timezone(offset))
            return value
        m = _US_DATE.fullmatch(text)
        if m:
            mo, d, y, h, mi, s, ampm = m.groups()
            hour = int(h or 0)
            if ampm:
                if not 1 <= hour <= 12:
                    return None
                hour = hour % 12 + (12 if ampm.strip().upper() == "PM" else 0)
            return datetime(int(y), int(mo), int(d), hour, int(mi or 0), int(s or 0))
    except ValueError:
        return None
    return None


_DURATION = re.compile(
    r"P(?:(\d+)Y)?(?:(\d+)M)?(?:(\d+)W)?(?:(\d+)D)?(?:T(?:(\d+)H)?(?:(\d+)M)?(?:(\d+(?:\.\d+)?)S)?)?"
)


def parse_duration(text: Any) -> timedelta | None:
    """Parse an ISO-8601 duration such as ``PT12H`` or ``P14D`` (year = 365 d, month = 30 d), else None."""
    if not isinstance(text, str):
        return None
    m = _DURATION.fullmatch(text.strip().upper())
    if m is None or not any(m.groups()) or text.strip().upper().endswith("T"):
        return None
    y, mo, w, d, h, mi, s = (float(g) if g else 0.0 for g in m.groups())
    return timedelta(days=365 * y + 30 * mo + 7 * w + d, hours=h, minutes=mi, seconds=s)


def utcnow() -> datetime:
    """Wall-clock now as naive UTC."""
    return datetime.now(UTC).replace(tzinfo=None)


def midnight(day: date) -> datetime:
    return datetime(day.year, day.month, day.day)


_BOOL_TEXT = {"true": 1, "1": 1, "yes": 1, "y": 1, "t": 1, "false": 0, "0": 0, "no": 0, "n": 0, "f": 0}
_NUMBER = re.compile(r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?")


class BadValue(ValueError):
    """An imported value that does not fit its field's data type."""


def import_value(value: Any, data_type: str, clock: Any = None) -> Any:
    """An imported value in its stored form; blanks (None, '', spaces) become None; BadValue if invalid.

    Dates without an offset are read in ``clock`` (a ``clock.Clock``: the instance's time zone, as Eloqua
    reads custom date fields) when given, else as UTC.
    """
    if value is None:
        return None
    if isinstance(value, bool):
        if data_type == "boolean":
            return int(value)
        value = "true" if value else "false"
    if isinstance(value, int | float) and data_type == "number":
        return value
    text = value if isinstance(value, str) else str(value)
    if text.strip() == "":
        return None
    if data_type == "number":
        t = text.strip()
        if not _NUMBER.fullmatch(t):
            raise BadValue(text)
        number = float(t)
        return int(number) if number.is_integer() and abs(number) < 2**53 else number
    if data_type == "date":
        ts = parse_timestamp(text) if clock is None else clock.from_instance(text)
        if ts is None:
            raise BadValue(text)
        return export_ts(ts)
    if data_type == "boolean":
        flag = _BOOL_TEXT.get(text.strip().lower())
        if flag is None:
            raise BadValue(text)
        return flag
    return text


def export_text(value: Any, data_type: str) -> str:
    """A stored value as the string an export prints ('' for blank)."""
    if value is None:
        return ""
    if data_type == "boolean":
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def filter_value(value: Any, data_type: str) -> Any:
    """A stored value as the typed value the EEL predicate reads (None for blank)."""
    if value is None:
        return None
    if data_type == "date":
        return datetime.fromisoformat(value)
    if data_type == "boolean":
        return bool(value)
    if data_type == "number":
        return value if isinstance(value, int | float) else float(value)
    return value if isinstance(value, str) else str(value)
