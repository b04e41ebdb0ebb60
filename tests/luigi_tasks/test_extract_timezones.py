"""The extract across daylight-saving changes: Eloqua prints non-system dates in the instance's time zone.

Each case runs a sandbox whose instance zone is US Eastern (or UTC) over a data day on which the clocks change
(spring forward 2026-03-08, fall back 2026-11-01) and extracts the campaign responses of that UTC day and every
contact. The sandbox's dump is the truth in UTC: the raw zone must hold exactly the responses whose UTC
RespondedAt falls in the day, with the truth's values (a value in the repeated hour of the fall-back day
comes back as its first occurrence: Eloqua's text has no offset to tell the two apart).
"""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest

from contract.objects import CAMPAIGN_RESPONSES, CONTACTS
from luigi_tasks.extract import ExtractContacts, ExtractCustomObject
from tests.luigi_tasks import test_extract
from tests.luigi_tasks.test_extract import by_key, contract_statements, convert, in_days, sync_statements
from tests.support.instance_time import read_back

pytestmark = pytest.mark.integration
extract_run = test_extract.extract_run  # the fixture: a local lake and luigi config per test

SPRING_FORWARD = dt.date(2026, 3, 8)
FALL_BACK = dt.date(2026, 11, 1)


def truth(dump: list[dict], obj, statements: dict[str, str], zone: str, keep=lambda row: True) -> list[dict]:
    """The dump's rows (UTC) as the raw zone must hold them after a trip through the instance's clock."""
    rows = []
    for raw in dump:
        row = {c.name: convert(raw[statements[c.name]], c.type) for c in obj.columns}
        if keep(row):
            rows.append({c.name: read_back(row[c.name], zone) if c.instance_time else row[c.name]
                         for c in obj.columns})
    return rows


def start(sandbox_factory, monkeypatch, day: dt.date, zone: str, extract_zone: str | None = None):
    """A sandbox whose data days include ``day``, in ``zone``; the extract reads ``extract_zone`` (default
    the same)."""
    sandbox = sandbox_factory(contacts=400, seed=7, as_of=(day + dt.timedelta(days=2)).isoformat(), timezone=zone)
    monkeypatch.setenv("ELOQUA_TIMEZONE", extract_zone or zone)
    return sandbox


@pytest.mark.parametrize("zone", ["America/New_York", "UTC"])
@pytest.mark.parametrize("day", [SPRING_FORWARD, FALL_BACK], ids=["spring-forward", "fall-back"])
def test_campaign_responses_of_a_dst_day_land_in_their_utc_day_with_their_values(
        sandbox_factory, extract_run, monkeypatch, day, zone):
    sandbox = start(sandbox_factory, monkeypatch, day, zone)
    run = extract_run(sandbox)
    run.run(ExtractCustomObject(object_name="campaign_responses", date=day))

    dataset = ("raw", "campaign_responses", f"run_date={day}")
    manifest = run.manifest(*dataset)
    dump = sandbox.dump("customObjects/41")
    statements = sync_statements(sandbox, manifest["sync_uri"])
    expected = truth(dump, CAMPAIGN_RESPONSES, statements, zone, keep=lambda r: in_days(r["RespondedAt"], day, day))
    # the day's first UTC hours are the previous local day in Eastern time: the window must reach them
    tz = ZoneInfo(zone)
    assert any(r["RespondedAt"].astimezone(tz).date() != day for r in expected) == (zone != "UTC")
    assert by_key(run.table(*dataset).to_pylist(), "ResponseId") == by_key(expected, "ResponseId")
    # windows stay UTC days in the manifest; the filter's literals are those bounds on the instance's clock
    assert (manifest["since"], manifest["until"]) == (f"{day} 00:00:00", f"{day + dt.timedelta(days=1)} 00:00:00")
    start_local = dt.datetime(day.year, day.month, day.day, tzinfo=dt.UTC).astimezone(tz).replace(tzinfo=None)
    assert f"'{start_local:%Y-%m-%d %H:%M:%S}'" in manifest["filter"]


@pytest.mark.parametrize("day", [SPRING_FORWARD, FALL_BACK], ids=["spring-forward", "fall-back"])
def test_hard_bounce_dates_come_back_in_utc(sandbox_factory, extract_run, monkeypatch, day):
    zone = "America/New_York"
    sandbox = start(sandbox_factory, monkeypatch, day, zone)
    run = extract_run(sandbox)
    run.run(ExtractContacts(date=day))

    expected = truth(sandbox.dump("contacts"), CONTACTS, contract_statements(CONTACTS), zone,
                     keep=lambda r: r["UpdatedAt"] < dt.datetime.combine(day + dt.timedelta(days=1), dt.time(),
                                                                           dt.UTC))
    assert any(r["HardBouncedAt"] for r in expected)
    table = run.table("raw", "contacts", f"run_date={day}")
    assert by_key(table.to_pylist(), "ContactId") == by_key(expected, "ContactId")


def test_an_extract_that_assumes_the_wrong_zone_misses_the_day(sandbox_factory, extract_run, monkeypatch):
    # The guard of the tests above: reading an Eastern instance as UTC moves rows across the day border
    # and shifts every value, so the comparison with the truth fails.
    day = FALL_BACK
    sandbox = start(sandbox_factory, monkeypatch, day, "America/New_York", extract_zone="UTC")
    run = extract_run(sandbox)
    run.run(ExtractCustomObject(object_name="campaign_responses", date=day))
    dataset = ("raw", "campaign_responses", f"run_date={day}")
    statements = sync_statements(sandbox, run.manifest(*dataset)["sync_uri"])
    expected = truth(sandbox.dump("customObjects/41"), CAMPAIGN_RESPONSES, statements, "America/New_York",
                     keep=lambda r: in_days(r["RespondedAt"], day, day))
    got = run.table(*dataset).to_pylist()
    assert {r["ResponseId"] for r in got} != {r["ResponseId"] for r in expected}
    assert not set(map(repr, got)) & set(map(repr, expected))
