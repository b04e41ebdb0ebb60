"""The instance's clock: Eloqua keeps non-system dates in the instance's time zone.

The store holds every date as naive UTC (the truth). An export prints a custom date field (a contact's
``C_Hard_Bounced_At1``, a custom object's ``RespondedAt``) in the instance's time zone, and a system timestamp
(created / modified dates, activity ``CreatedAt``) in UTC only when the definition says
``areSystemTimestampsInUTC: true``; imports read custom dates in the instance's time zone. A local time that
occurs twice (the hour the clock falls back) is read as its first occurrence; a local time that never occurs
(the hour the clock springs forward) is read with the offset before the change.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime, tzinfo
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from scc_sandbox.formats import parse_timestamp_aware

DEFAULT_TIMEZONE = "America/New_York"


class UnknownTimeZone(ValueError):
    """A time zone name the zone database does not know."""


def zone(name: str) -> ZoneInfo:
    """The IANA zone ``name`` (``America/New_York``, ``UTC``); UnknownTimeZone names a bad one."""
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise UnknownTimeZone(
            f"unknown time zone {name!r}: use an IANA name such as America/New_York or UTC"
        ) from None


@dataclass(frozen=True)
class Clock:
    """Conversions between the store's naive UTC and the instance's naive local time."""

    name: str = DEFAULT_TIMEZONE
    tz: tzinfo = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "tz", zone(self.name))

    @property
    def is_utc(self) -> bool:
        return self.name.upper() in ("UTC", "ETC/UTC", "Z")

    def to_instance(self, value: datetime) -> datetime:
        """A naive UTC datetime (or an aware one) as the instance's naive local time."""
        aware = value.replace(tzinfo=UTC) if value.tzinfo is None else value
        return aware.astimezone(self.tz).replace(tzinfo=None)

    def from_instance(self, value: str | datetime) -> datetime | None:
        """Naive local time (a datetime, or text in Eloqua's date forms) as naive UTC; None when the text is
        not a date. Text or datetimes that carry an offset are converted from that offset instead."""
        if isinstance(value, str):
            parsed = parse_timestamp_aware(value)
            if parsed is None:
                return None
            value = parsed
        if value.tzinfo is not None:
            return value.astimezone(UTC).replace(tzinfo=None)
        return value.replace(tzinfo=self.tz, fold=0).astimezone(UTC).replace(tzinfo=None)

    def instance_text(self, stored: str | None) -> str | None:
        """A stored (naive UTC, export-format) date as the export prints it in instance time."""
        if stored is None:
            return None
        local = self.to_instance(datetime.fromisoformat(stored))
        return local.isoformat(" ", "milliseconds")
