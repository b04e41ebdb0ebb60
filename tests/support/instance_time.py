"""The instance clock as a reader of Eloqua's exports sees it, written independently of the code under test.

Eloqua prints a non-system date as the instance's local wall time without an offset. Read back as UTC, a
value in the repeated hour of a fall-back day can only be taken as the first of the two local times with
that reading, so it comes back one hour early; every other value comes back exactly.
"""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

SANDBOX_TIMEZONE = "America/New_York"  # the sandbox's default --timezone and the project's default zone


def read_back(value: dt.datetime | None, zone: str = SANDBOX_TIMEZONE) -> dt.datetime | None:
    """An aware UTC instant after a trip through the instance's wall clock (local text, then UTC)."""
    if value is None:
        return None
    tz = ZoneInfo(zone)
    wall = value.astimezone(tz).replace(tzinfo=None)
    return wall.replace(tzinfo=tz, fold=0).astimezone(dt.UTC)


def in_repeated_hour(value: dt.datetime, zone: str = SANDBOX_TIMEZONE) -> bool:
    """Whether the instant's local wall time occurs twice (the hour the clock falls back)."""
    return read_back(value, zone) != value
