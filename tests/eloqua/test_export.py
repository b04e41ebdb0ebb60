"""Exports into Parquet against the sandbox: exact rows and types, faults, resume after SIGKILL, S3."""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import logging
import os
import re
import signal
import subprocess
import sys
import textwrap
from pathlib import Path
from urllib.parse import urlsplit

import numpy as np
import pyarrow as pa
import pyarrow.fs as pafs
import pyarrow.parquet as pq
import pytest
import requests

from contract.objects import (
    ACTIVITIES,
    BOUNCEBACK_ONLY_COLUMNS,
    CAMPAIGN_RESPONSES,
    CONTACTS,
    SFDC_CAMPAIGNS,
    EloquaObject,
)
from eloqua.client import EloquaClient, RetryPolicy
from eloqua.errors import ConversionError, EloquaError, Expired, MalformedResponse, ValidationError
from eloqua.export import (
    CsvPageDecoder,
    PageDecoder,
    arrow_schema,
    convert_column,
    export_to_parquet,
    item_boundaries,
    split_by_day,
    start_export,
)
from eloqua.progress import LogProgress, NullProgress
from eloqua.settings import EloquaSettings
from eloqua.windows import window_filter
from tests.support.eloqua_sync import finished_sync
from tests.support.instance_time import read_back

REPO = Path(__file__).resolve().parents[2]
FAST = RetryPolicy(max_attempts=8, base_delay=0.05, max_delay=0.3, max_elapsed=60.0)
PAGE = 64  # the session sandbox has 400 contacts: 7 pages, the last one partial
LOCAL = pafs.LocalFileSystem()


def client_for(sandbox) -> EloquaClient:
    settings = EloquaSettings.basic(sandbox.site, sandbox.user, sandbox.password, login_url=sandbox.url)
    return EloquaClient(settings, retry=FAST)


def typed(text: str, logical: str):
    """The contract's reading of an exported string, written independently of eloqua.export."""
    if text == "":
        return None
    if logical == "int":
        return int(text)
    if logical == "boolean":
        return {"true": True, "false": False, "1": True, "0": False}[text]
    if logical == "timestamp":
        return dt.datetime.fromisoformat(text).replace(tzinfo=dt.UTC)
    return text


def expected_rows(dump: list[dict], obj: EloquaObject, fields: dict[str, str]) -> list[dict]:
    """The dump's rows (dates in UTC) as the extract reads them: instance-time columns travel as the
    instance's wall time, so a value in a fall-back day's repeated hour comes back one hour early."""
    return [{c.name: read_back(v) if c.instance_time else v
             for c in obj.columns for v in [typed(row[fields[c.name]], c.type)]} for row in dump]


def by_key(rows: list[dict], key: str) -> list[dict]:
    return sorted(rows, key=lambda r: r[key])


def read_rows(path: Path) -> list[dict]:
    return pq.read_table(path).to_pylist()


def one_line(text: str) -> bool:
    return "\n" not in text and 0 < len(text) < 600


def data_requests(sandbox) -> int:
    return sum(sandbox.state()["requests"].get("GET /syncs/{id}/data", {}).values())


@pytest.fixture
def clean_faults(sandbox):
    sandbox.clear_faults()
    yield sandbox
    sandbox.clear_faults()


@pytest.fixture(scope="module")
def contacts_sync(sandbox) -> str:
    """One finished export sync of every contact, shared by the read-only tests of this module."""
    with client_for(sandbox) as client:
        return finished_sync(client, CONTACTS, name="test_export contacts")


@pytest.fixture(scope="module")
def contacts_expected(sandbox) -> list[dict]:
    fields = {c.name: c.statement for c in CONTACTS.columns}
    return by_key(expected_rows(sandbox.dump("contacts"), CONTACTS, fields), "ContactId")


# ------------------------------------------------------------------------------------------ exact data


@pytest.mark.integration
def test_contacts_parquet_equals_the_sandbox_rows(sandbox, contacts_sync, contacts_expected, tmp_path):
    with client_for(sandbox) as client:
        result = export_to_parquet(client, contacts_sync, arrow_schema(CONTACTS), LOCAL,
                                   str(tmp_path / "stage"), page_size=PAGE, concurrency=3,
                                   progress=NullProgress())
    total = len(contacts_expected)
    assert total >= 6 * PAGE + 1  # several pages, the last one partial
    assert result.total_rows == total and result.pages_skipped == 0
    assert result.pages_fetched == len(range(0, total, PAGE))
    assert sorted(os.listdir(tmp_path / "stage")) == [f"part-{o:010d}.parquet" for o in range(0, total, PAGE)]
    assert by_key(read_rows(tmp_path / "stage"), "ContactId") == contacts_expected


@pytest.mark.integration
def test_raw_columns_have_the_contract_types(sandbox, contacts_sync, tmp_path):
    with client_for(sandbox) as client:
        export_to_parquet(client, contacts_sync, arrow_schema(CONTACTS), LOCAL, str(tmp_path),
                          progress=NullProgress())
    schema = pq.read_schema(tmp_path / "part-0000000000.parquet")
    assert schema.names == list(CONTACTS.column_names)
    types = {f.name: f.type for f in schema}
    assert types["ContactId"] == pa.string()
    assert types["ProfileScore"] == pa.int64() and types["EngagementScore"] == pa.int64()
    assert types["IsBounced"] == pa.bool_() and types["IsSubscribed"] == pa.bool_()
    assert types["CreatedAt"] == pa.timestamp("us", tz="UTC") == types["HardBouncedAt"]
    assert schema.remove_metadata() == arrow_schema(CONTACTS)


@pytest.mark.integration
def test_custom_object_export_equals_the_sandbox_rows(sandbox, tmp_path):
    with client_for(sandbox) as client:
        started = start_export(client, CAMPAIGN_RESPONSES)
        client.wait_for_sync(started.sync_uri, initial_delay=0.05, max_delay=0.2)
        result = export_to_parquet(client, started.sync_uri, arrow_schema(CAMPAIGN_RESPONSES), LOCAL,
                                   str(tmp_path), page_size=50, progress=NullProgress())
    dump = sandbox.dump(started.entity)
    expected = expected_rows(dump, CAMPAIGN_RESPONSES, dict(started.fields))
    assert result.total_rows == len(dump) > 0
    assert by_key(read_rows(tmp_path), "ResponseId") == by_key(expected, "ResponseId")


@pytest.mark.integration
def test_boolean_custom_object_fields_are_typed(sandbox, tmp_path):
    with client_for(sandbox) as client:
        started = start_export(client, SFDC_CAMPAIGNS)
        client.wait_for_sync(started.sync_uri, initial_delay=0.05, max_delay=0.2)
        export_to_parquet(client, started.sync_uri, arrow_schema(SFDC_CAMPAIGNS), LOCAL, str(tmp_path),
                          progress=NullProgress())
    expected = expected_rows(sandbox.dump(started.entity), SFDC_CAMPAIGNS, dict(started.fields))
    assert by_key(read_rows(tmp_path), "CampaignId") == by_key(expected, "CampaignId")
    assert {r["IsActive"] for r in expected} == {True, False}


@pytest.mark.integration
def test_one_day_of_one_activity_type_equals_the_sandbox_rows(sandbox, tmp_path):
    day = sandbox.as_of - dt.timedelta(days=1)
    window = window_filter("{{Activity.CreatedAt}}", day, day + dt.timedelta(days=1))
    # Eloqua offers the Bounceback-only fields to Bounceback alone: an EmailOpen export leaves them out and
    # their columns come out null
    fields = {c.name: c.statement for c in ACTIVITIES.columns if c.name not in BOUNCEBACK_ONLY_COLUMNS}
    with client_for(sandbox) as client:
        sync_uri = finished_sync(client, ACTIVITIES, filter=f"'{{{{Activity.Type}}}}' = 'EmailOpen' AND {window}",
                          fields=fields)
        result = export_to_parquet(client, sync_uri, arrow_schema(ACTIVITIES), LOCAL, str(tmp_path),
                                   page_size=100, progress=NullProgress())
    dump = sandbox.dump(f"activities?type=EmailOpen&day={day}")
    expected = expected_rows(dump, ACTIVITIES, {c.name: c.statement for c in ACTIVITIES.columns})
    assert all(r[n] is None for r in expected for n in BOUNCEBACK_ONLY_COLUMNS)
    assert result.total_rows == len(expected) > 0
    assert by_key(read_rows(tmp_path), "ActivityId") == by_key(expected, "ActivityId")


@pytest.mark.integration
def test_an_empty_export_still_writes_the_schema(sandbox, tmp_path):
    with client_for(sandbox) as client:
        nobody = "'{{Contact.Field(C_EmailAddress)}}' = 'nobody@nowhere.invalid'"
        sync_uri = finished_sync(client, CONTACTS, filter=nobody)
        result = export_to_parquet(client, sync_uri, arrow_schema(CONTACTS), LOCAL, str(tmp_path),
                                   progress=NullProgress())
    table = pq.read_table(tmp_path)
    assert result.total_rows == 0 and table.num_rows == 0
    assert table.schema.remove_metadata() == arrow_schema(CONTACTS)


# ---------------------------------------------------------------------------------------------- faults


@pytest.mark.integration
@pytest.mark.parametrize("fault", [
    {"kind": "status", "status": 429, "count": 6},  # a throttling burst
    {"kind": "status", "status": 503, "count": 3},
    {"kind": "status", "status": 500, "count": 3},
    {"kind": "drop", "count": 3},  # half a body, then the connection is cut
    {"kind": "status", "status": 503, "count": None, "probability": 0.3},  # flaky all along
], ids=["429-burst", "503", "500", "drop", "flaky-503"])
def test_every_fault_is_survived_with_exact_rows(clean_faults, contacts_sync, contacts_expected, fault,
                                                 tmp_path):
    sandbox = clean_faults
    sandbox.set_faults({"seed": 3, "faults": [{**fault, "route": "GET /syncs/*/data"}]})
    with client_for(sandbox) as client:
        result = export_to_parquet(client, contacts_sync, arrow_schema(CONTACTS), LOCAL, str(tmp_path),
                                   page_size=PAGE, concurrency=3, progress=NullProgress())
    fired = sandbox.state()["faults"]["faults"][0]["fired"]
    assert fired == fault["count"] if fault["count"] else fired > 0
    assert result.total_rows == len(contacts_expected)
    assert by_key(read_rows(tmp_path), "ContactId") == contacts_expected


@pytest.mark.integration
def test_slow_and_faulty_sync_creation_is_survived(clean_faults, contacts_expected, tmp_path):
    sandbox = clean_faults
    sandbox.set_faults({"faults": [
        {"kind": "slow_pending", "match": "/contacts/exports/*", "seconds": 1},
        {"kind": "status", "route": "POST /contacts/exports", "status": 503, "count": 1},
        {"kind": "drop", "route": "POST /syncs", "count": 1},
        {"kind": "status", "route": "GET /syncs/*", "status": 429, "count": 2}]})
    with client_for(sandbox) as client:
        sync_uri = finished_sync(client, CONTACTS)
        export_to_parquet(client, sync_uri, arrow_schema(CONTACTS), LOCAL, str(tmp_path),
                          progress=NullProgress())
    assert [f["fired"] for f in sandbox.state()["faults"]["faults"]] == [1, 1, 1, 2]
    assert by_key(read_rows(tmp_path), "ContactId") == contacts_expected


@pytest.mark.integration
def test_expired_sync_data_raises_expired_and_keeps_written_pages(clean_faults, contacts_sync, tmp_path):
    sandbox = clean_faults
    with client_for(sandbox) as client:
        sync_uri = finished_sync(client, CONTACTS)  # its own sync: expiring it must not spoil the shared one
        sandbox.set_faults({"faults": [{"kind": "expire_data", "match": sync_uri, "after_pages": 3}]})
        with pytest.raises(Expired) as error:
            export_to_parquet(client, sync_uri, arrow_schema(CONTACTS), LOCAL, str(tmp_path), page_size=PAGE,
                              concurrency=1, progress=NullProgress())
    assert one_line(str(error.value)) and "new sync" in str(error.value)
    # the probe and two pages were served before the data expired
    assert sorted(os.listdir(tmp_path)) == ["part-0000000000.parquet", "part-0000000064.parquet"]


@pytest.mark.integration
def test_unknown_field_is_a_one_line_validation_error(sandbox):
    fields = {"Email": "{{Contact.Field(C_EmailAddress)}}", "Shoe": "{{Contact.Field(C_Shoe_Size)}}"}
    with client_for(sandbox) as client, pytest.raises(ValidationError) as error:
        finished_sync(client, CONTACTS, fields=fields)
    assert one_line(str(error.value)) and "C_Shoe_Size" in str(error.value)


# ---------------------------------------------------------------------------------------------- resume


KILLED_EXPORT = textwrap.dedent("""
    import os, signal, sys
    from contract.objects import CONTACTS
    from eloqua.client import EloquaClient
    from eloqua.export import arrow_schema, export_to_parquet
    from eloqua.progress import NullProgress
    from eloqua.settings import EloquaSettings
    import pyarrow.fs as pafs

    login, sync_uri, staging, pages = sys.argv[1:5]
    written = []

    def killed_after(offset, rows, path):
        written.append(offset)
        if len(written) == int(pages):
            os.kill(os.getpid(), signal.SIGKILL)

    client = EloquaClient(EloquaSettings.basic("SCCSandbox", "scc.api", "scc-sandbox", login_url=login))
    export_to_parquet(client, sync_uri, arrow_schema(CONTACTS), pafs.LocalFileSystem(), staging, page_size=64,
                      concurrency=1, progress=NullProgress(), completed_pages=killed_after)
""")


@pytest.mark.integration
def test_an_export_killed_mid_way_resumes_fetching_only_missing_pages(sandbox, contacts_sync,
                                                                       contacts_expected, tmp_path):
    stage = tmp_path / "stage"
    run = subprocess.run([sys.executable, "-c", KILLED_EXPORT, sandbox.url, contacts_sync, str(stage), "3"],
                         cwd=REPO, capture_output=True, text=True, timeout=120)
    assert run.returncode == -signal.SIGKILL, run.stderr
    kept = sorted(os.listdir(stage))
    assert kept == ["part-0000000000.parquet", "part-0000000064.parquet", "part-0000000128.parquet"]
    (stage / ".tmp-part-0000000192-deadbeef.parquet").write_bytes(b"PAR1 half a file")  # as a crash leaves it
    before = data_requests(sandbox)
    with client_for(sandbox) as client:
        result = export_to_parquet(client, contacts_sync, arrow_schema(CONTACTS), LOCAL, str(stage),
                                   page_size=PAGE, progress=NullProgress())
    total = len(contacts_expected)
    missing = len(range(3 * PAGE, total, PAGE))
    assert data_requests(sandbox) - before == 1 + missing  # the totalResults probe, then the missing pages
    assert (result.pages_skipped, result.pages_fetched, result.rows_fetched) == (3, missing, total - 3 * PAGE)
    assert sorted(os.listdir(stage)) == [f"part-{o:010d}.parquet" for o in range(0, total, PAGE)]
    assert by_key(read_rows(stage), "ContactId") == contacts_expected


@pytest.mark.integration
def test_a_resumed_export_with_another_page_size_fills_only_the_gaps(sandbox, contacts_sync,
                                                                     contacts_expected, tmp_path):
    with client_for(sandbox) as client:
        export_to_parquet(client, contacts_sync, arrow_schema(CONTACTS), LOCAL, str(tmp_path), page_size=100,
                          progress=NullProgress())
        os.remove(tmp_path / "part-0000000100.parquet")
        os.remove(tmp_path / "part-0000000300.parquet")
        result = export_to_parquet(client, contacts_sync, arrow_schema(CONTACTS), LOCAL, str(tmp_path),
                                   page_size=64, progress=NullProgress())
    assert result.pages_fetched == 4  # 100-163, 164-199, 300-363, 364-399 (of 400)
    assert by_key(read_rows(tmp_path), "ContactId") == contacts_expected


# -------------------------------------------------------------------------------------------------- S3


@pytest.mark.integration
def test_export_to_s3_writes_parts_and_resumes(sandbox, seaweed, contacts_sync, contacts_expected):
    endpoint = urlsplit(seaweed.endpoint_url)
    s3 = pafs.S3FileSystem(access_key=seaweed.access_key, secret_key=seaweed.secret_key,
                           endpoint_override=endpoint.netloc, scheme=endpoint.scheme, region="us-east-1",
                           allow_bucket_creation=False)
    stage = f"{seaweed.bucket}/test-export/{os.getpid()}-{id(s3)}/stage"
    with client_for(sandbox) as client:
        first = export_to_parquet(client, contacts_sync, arrow_schema(CONTACTS), s3, stage, page_size=PAGE,
                                  progress=NullProgress())
        s3.delete_file(f"{stage}/part-0000000192.parquet")
        again = export_to_parquet(client, contacts_sync, arrow_schema(CONTACTS), s3, stage, page_size=PAGE,
                                  progress=NullProgress())
    pages = len(range(0, len(contacts_expected), PAGE))
    assert (first.pages_fetched, again.pages_fetched, again.pages_skipped) == (pages, 1, pages - 1)
    rows = pq.read_table(stage, filesystem=s3).to_pylist()
    assert by_key(rows, "ContactId") == contacts_expected


# -------------------------------------------------------------------------------------------- progress


@pytest.mark.integration
def test_progress_logs_rows_rate_and_eta(sandbox, contacts_sync, contacts_expected, tmp_path, caplog):
    caplog.set_level(logging.INFO, logger="test.progress")
    progress = LogProgress("contacts", interval=0.0, logger=logging.getLogger("test.progress"))
    with client_for(sandbox) as client:
        export_to_parquet(client, contacts_sync, arrow_schema(CONTACTS), LOCAL, str(tmp_path), page_size=PAGE,
                          concurrency=1, progress=progress)
    lines = [r.getMessage() for r in caplog.records if r.name == "test.progress"]
    total = len(contacts_expected)
    assert lines[0] == f"contacts: exporting {total} rows"
    assert lines[1].startswith(f"contacts: 64/{total} rows ({6400 / total:.0f}%)")
    assert "rows/s" in lines[1] and "ETA" in lines[1]
    assert lines[-1].startswith(f"contacts: {total}/{total} rows (100%)") and lines[-1].endswith("(done)")
    assert len(lines) == 1 + len(range(0, total, PAGE)) + 1


# ------------------------------------------------------------------------------------------ conversion


def strings(*values):
    return pa.array(values, pa.string())


@pytest.mark.parametrize(("logical", "values", "expected"), [
    ("string", ("a", "", None, " b "), ["a", None, None, " b "]),  # '' is null, text is kept verbatim
    ("int", ("12", "", " 7 ", "-3", "4.0"), [12, None, 7, -3, 4]),  # number fields may print 4.0
    ("boolean", ("true", "false", "1", "0", "", "True"), [True, False, True, False, None, True]),
    ("timestamp", ("2026-11-26 14:03:07", "2026-11-26 14:03:07.120", "2026-11-26 14:03:07.1234567", ""),
     [dt.datetime(2026, 11, 26, 14, 3, 7, tzinfo=dt.UTC),
      dt.datetime(2026, 11, 26, 14, 3, 7, 120000, tzinfo=dt.UTC),
      dt.datetime(2026, 11, 26, 14, 3, 7, 123456, tzinfo=dt.UTC), None]),  # 7 digits: Eloqua's .NET format
    ("timestamp", ("2026-11-26T14:03:07Z", "2026-11-26 15:03:07+01:00"),
     [dt.datetime(2026, 11, 26, 14, 3, 7, tzinfo=dt.UTC)] * 2),  # explicit offsets are honoured
])
def test_exported_strings_convert_to_the_contract_types(logical, values, expected):
    column = next(c for o in (CONTACTS,) for c in o.columns if c.type == logical and not c.instance_time)
    field = arrow_schema(CONTACTS).field(column.name)
    assert convert_column(strings(*values), field).to_pylist() == expected


def utc(*parts: int) -> dt.datetime:
    return dt.datetime(*parts, tzinfo=dt.UTC)


@pytest.mark.parametrize(("zone", "text", "expected"), [
    ("America/New_York", "2026-11-26 09:03:07.120", utc(2026, 11, 26, 14, 3, 7, 120000)),  # EST, UTC-5
    ("America/New_York", "2026-07-01 20:00:00", utc(2026, 7, 2, 0, 0)),  # EDT, UTC-4: the next UTC day
    # spring forward (2026-03-08 02:00 EST -> 03:00 EDT): either side of the gap
    ("America/New_York", "2026-03-08 01:59:59", utc(2026, 3, 8, 6, 59, 59)),
    ("America/New_York", "2026-03-08 03:00:00", utc(2026, 3, 8, 7, 0)),
    # fall back (2026-11-01 02:00 EDT -> 01:00 EST): the repeated hour reads as its first occurrence (EDT)
    ("America/New_York", "2026-11-01 00:59:59", utc(2026, 11, 1, 4, 59, 59)),
    ("America/New_York", "2026-11-01 01:30:00", utc(2026, 11, 1, 5, 30)),
    ("America/New_York", "2026-11-01 02:00:00", utc(2026, 11, 1, 7, 0)),
    ("America/New_York", "2026-11-26T14:03:07Z", utc(2026, 11, 26, 14, 3, 7)),  # an explicit offset wins
    ("Europe/Paris", "2026-11-26 15:03:07", utc(2026, 11, 26, 14, 3, 7)),
    ("UTC", "2026-11-26 14:03:07", utc(2026, 11, 26, 14, 3, 7)),
])
def test_instance_time_columns_are_read_in_the_instance_zone_and_stored_in_utc(zone, text, expected):
    schema = arrow_schema(CAMPAIGN_RESPONSES, timezone=zone)
    assert convert_column(strings(text, ""), schema.field("RespondedAt")).to_pylist() == [expected, None]


def test_only_instance_time_columns_carry_the_zone_and_decoded_pages_drop_it():
    schema = arrow_schema(CONTACTS, timezone="America/New_York")
    zoned = {f.name for f in schema if f.metadata}
    assert zoned == {c.name for c in CONTACTS.columns if c.instance_time} == {"HardBouncedAt"}
    assert not any(f.metadata for f in arrow_schema(CONTACTS, timezone="UTC"))
    body = page_body([{"UpdatedAt": "2026-11-26 09:00:00", "HardBouncedAt": "2026-11-26 09:00:00"}])
    table = PageDecoder(schema).decode(body).table
    assert table.column("UpdatedAt").to_pylist() == [utc(2026, 11, 26, 9, 0)]  # system timestamp: UTC
    assert table.column("HardBouncedAt").to_pylist() == [utc(2026, 11, 26, 14, 0)]
    assert not any(f.metadata for f in table.schema)  # part files carry no zone


@pytest.mark.parametrize(("zone", "start", "end", "literals"), [
    # the UTC day 2026-11-01 (the fall-back day) starts in EDT and ends in EST
    ("America/New_York", dt.date(2026, 11, 1), dt.date(2026, 11, 2), ("2026-10-31 20:00:00", "2026-11-01 19:00:00")),
    ("America/New_York", dt.date(2026, 3, 8), dt.date(2026, 3, 9), ("2026-03-07 19:00:00", "2026-03-08 20:00:00")),
    (None, dt.date(2026, 3, 8), dt.date(2026, 3, 9), ("2026-03-08 00:00:00", "2026-03-09 00:00:00")),
])
def test_window_filter_writes_utc_bounds_in_the_fields_clock(zone, start, end, literals):
    from zoneinfo import ZoneInfo

    text = window_filter("{{F}}", start, end, ZoneInfo(zone) if zone else None)
    assert text == f"'{{{{F}}}}' >= '{literals[0]}' AND '{{{{F}}}}' < '{literals[1]}'"


@pytest.mark.parametrize(("column", "bad"), [("ProfileScore", "12.5"), ("ProfileScore", "high"),
                                             ("IsBounced", "maybe"), ("UpdatedAt", "yesterday")])
def test_an_off_contract_value_is_a_one_line_error_naming_column_and_value(column, bad):
    field = arrow_schema(CONTACTS).field(column)
    with pytest.raises(ConversionError) as error:
        good = "1" if column != "UpdatedAt" else "2026-01-01 00:00:00"
        convert_column(strings(good, bad), field, offset=500)
    text = str(error.value)
    assert one_line(text) and column in text and repr(bad) in text and "row 501" in text


# --------------------------------------------------------------------------------------- page decoding

ODD_VALUES = ['"},{"', 'a\\', '\\"},{\\"', "},{", "line\nbreak", "caf\u00e9 \u2603", '"quoted"', ""]


def page_body(items: list[dict], **dump_options) -> bytearray:
    page = {"totalResults": 900, "limit": 50, "offset": 0, "count": len(items), "hasMore": True}
    if items:
        page["items"] = items
    return bytearray(json.dumps(page, **dump_options).encode())


def expected_strings(items: list[dict]) -> list[dict]:
    return [{c.name: (row.get(c.name) or None) for c in ACTIVITIES.columns} for row in items]


@pytest.mark.parametrize("dump_options", [{"separators": (",", ":")}, {}, {"indent": 2}],
                         ids=["compact", "spaced", "pretty"])
@pytest.mark.parametrize("odd", ODD_VALUES)
def test_pages_decode_exactly_whatever_the_values_hold(odd, dump_options):
    # ACTIVITIES is all strings but ActivityDate: the odd value goes into every string column of one row
    items = [{c.name: f"{c.name}-{i}" for c in ACTIVITIES.columns if c.type == "string"} for i in range(5)]
    items[2] = {name: odd for name in items[2]}
    page = PageDecoder(arrow_schema(ACTIVITIES)).decode(page_body(items, **dump_options), offset=100)
    assert (page.total, page.count, page.offset) == (900, 5, 100)
    assert page.table.to_pylist() == expected_strings(items)


def test_a_page_without_items_decodes_to_no_rows():
    page = PageDecoder(arrow_schema(CONTACTS)).decode(page_body([]))
    assert page.count == 0 and page.table.num_rows == 0 and page.table.schema == arrow_schema(CONTACTS)


def test_pages_from_a_lenient_server_with_numbers_and_nulls_still_decode():
    items = [{"ContactId": 7, "ProfileScore": 12, "IsBounced": True, "City": None},
             {"ContactId": "8", "ProfileScore": "", "IsBounced": "false", "City": "Brno"}]
    rows = PageDecoder(arrow_schema(CONTACTS)).decode(page_body(items)).table.to_pylist()
    assert [(r["ContactId"], r["ProfileScore"], r["IsBounced"], r["City"]) for r in rows] == [
        ("7", 12, True, None), ("8", None, False, "Brno")]


@pytest.mark.parametrize("cut", [1, 100, -1, -2])
def test_a_truncated_page_is_a_malformed_response(cut):
    body = page_body([{"ContactId": str(i), "City": "x" * 40} for i in range(20)], separators=(",", ":"))
    with pytest.raises(MalformedResponse):
        PageDecoder(arrow_schema(CONTACTS)).decode(body[:cut])


def test_compact_pages_take_the_fast_json_lines_path():
    body = page_body([{"ContactId": str(i), "City": "Brno"} for i in range(3)], separators=(",", ":"))
    rows = PageDecoder(arrow_schema(CONTACTS)).decode(body).table.to_pylist()
    assert [r["ContactId"] for r in rows] == ["0", "1", "2"]
    assert body.count(b'"}\n{"') == 2  # the item separators were rewritten in place


@pytest.mark.parametrize("odd", ["", "a\\", '\\"},{\\"', "x" * 60_000])
def test_items_of_a_page_larger_than_a_search_block_split_exactly(odd):
    # 1 MiB search blocks: with 3,000 items of ~700 bytes, separators fall on and around block edges
    items = [{"ContactId": str(i), "City": "c" * (600 + i % 97), "Company": odd if i % 500 == 7 else "Acme"}
             for i in range(3000)]
    body = page_body(items, separators=(",", ":"))
    start, end = body.index(b"[") + 1, body.rindex(b"]")
    expected = [m.start() + 2 for m in re.finditer(rb'"\},\{"', bytes(body[start:end]))]
    found = item_boundaries(np.frombuffer(bytes(body[start:end]), np.uint8))
    if b'\\"},{"' in body:  # a value ending in a backslash, last in its item: could be an escaped quote
        assert found is None
    else:
        assert found.tolist() == expected and len(expected) == 2999
    rows = PageDecoder(arrow_schema(CONTACTS)).decode(body).table.to_pylist()
    assert [(r["ContactId"], r["City"], r["Company"]) for r in rows] == [
        (row["ContactId"], row["City"], row["Company"] or None) for row in items]


# ------------------------------------------------------------------------------------------ day split


@pytest.mark.parametrize("buffer_bytes", [1, 1 << 30])
def test_a_range_split_writes_each_days_rows_in_order_and_counts_the_rest(tmp_path, buffer_bytes):
    schema = arrow_schema(ACTIVITIES)
    days = [dt.date(2026, 11, 20), dt.date(2026, 11, 21), dt.date(2026, 11, 22)]
    stamps = [dt.datetime(2026, 11, 21, 23, 59, 59, 999999), dt.datetime(2026, 11, 20), None,
              dt.datetime(2026, 11, 21), dt.datetime(2026, 11, 23), dt.datetime(2026, 11, 20, 12),
              dt.datetime(2026, 11, 19, 23, 59, 59), dt.datetime(2026, 11, 21, 6)]
    rows = [{"ActivityId": str(i), "ActivityDate": s and s.replace(tzinfo=dt.UTC)} for i, s in enumerate(stamps)]
    table = pa.Table.from_pylist(rows, schema)
    # three batches, so that a tiny buffer writes every day's rows as several row groups
    done = split_by_day(table.to_batches(max_chunksize=3), schema, "ActivityDate", days, str(tmp_path), buffer_bytes)

    assert done.day_rows == {days[0]: 2, days[1]: 3, days[2]: 0}
    assert done.outside == 3  # no date, the day after and the day before
    written = {d: pq.read_table(tmp_path / d.isoformat() / "part-0000000000.parquet") for d in days}
    assert sorted(p.relative_to(tmp_path).as_posix() for p in tmp_path.rglob("*.parquet")) == [
        f"{d.isoformat()}/part-0000000000.parquet" for d in days]
    for d in days:
        assert written[d].schema == schema
    assert written[days[0]].column("ActivityId").to_pylist() == ["1", "5"]
    assert written[days[1]].column("ActivityId").to_pylist() == ["0", "3", "7"]
    assert written[days[1]].equals(table.take([0, 3, 7]))
    assert written[days[2]].num_rows == 0
    row_groups = pq.ParquetFile(tmp_path / days[1].isoformat() / "part-0000000000.parquet").num_row_groups
    assert row_groups == (3 if buffer_bytes == 1 else 1)


# ------------------------------------------------------------------------------------------ CSV transfer


def csv_body(names: list[str], rows: list[list[str]]) -> bytearray:
    """An RFC 4180 body as a server writes it (quoting only what needs it), written independently of the
    sandbox."""
    def field(value: str) -> str:
        if any(c in value for c in ',"\r\n') or (value == "" and len(names) == 1):
            return '"' + value.replace('"', '""') + '"'
        return value
    return bytearray("".join(",".join(map(field, row)) + "\r\n" for row in [names, *rows]).encode())


CSV_ODD_VALUES = [*ODD_VALUES, "cr\r\nlf", "lone\rcr", "a,b", 'say "hi", then go', " padded ", "NULL", "N/A",
                  "nan", "#N/A", "=1+2"]


@pytest.mark.parametrize("odd", CSV_ODD_VALUES)
def test_csv_pages_decode_to_the_same_table_as_json_pages(odd):
    schema = arrow_schema(ACTIVITIES)
    items = [{c.name: f"{c.name}-{i}" for c in ACTIVITIES.columns if c.type == "string"} for i in range(5)]
    items[2] = {name: odd for name in items[2]}
    items[3]["ActivityDate"] = "2026-11-26 23:59:59.123"
    items[4]["ActivityDate"] = ""
    names = list(reversed(schema.names))  # columns are matched by header name, not position
    body = csv_body([*names, "Extra"], [[*(row.get(n, "") for n in names), "x"] for row in items])
    from_csv = CsvPageDecoder(schema).decode(body, offset=100)
    from_json = PageDecoder(schema).decode(page_body(items, separators=(",", ":")), offset=100)
    assert (from_csv.total, from_csv.count, from_csv.offset) == (None, 5, 100)
    assert from_csv.table.schema == from_json.table.schema == schema
    assert from_csv.table.equals(from_json.table)
    expected = expected_strings(items)
    expected[3]["ActivityDate"] = dt.datetime(2026, 11, 26, 23, 59, 59, 123000, tzinfo=dt.UTC)
    assert from_csv.table.to_pylist() == expected


def test_quoted_line_breaks_survive_the_csv_reader_s_block_boundaries():
    schema = arrow_schema(CONTACTS)
    rows = [[str(i), f"line {i}\nbreak,\r\nand more"] for i in range(40)]
    table = CsvPageDecoder(schema, block_size=64).decode(csv_body(["ContactId", "City"], rows)).table
    assert table.select(["ContactId", "City"]).to_pylist() == [{"ContactId": i, "City": c} for i, c in rows]


def test_a_one_column_csv_page_keeps_its_empty_rows():
    schema = pa.schema([pa.field("Id", pa.string())])
    body = csv_body(["Id"], [[""], ["1"], [""]])
    assert body == bytearray(b'Id\r\n""\r\n1\r\n""\r\n')
    assert CsvPageDecoder(schema).decode(body).table.column("Id").to_pylist() == [None, "1", None]


def test_a_csv_page_with_a_byte_order_mark_and_a_header_only_page_decode():
    schema = arrow_schema(CONTACTS)
    body = bytearray(b"\xef\xbb\xbfContactId,City\r\n7,Brno\r\n")
    assert CsvPageDecoder(schema).decode(body).table.select(["ContactId", "City"]).to_pylist() == [
        {"ContactId": "7", "City": "Brno"}]
    empty = CsvPageDecoder(schema).decode(bytearray(b"ContactId,City\r\n"))
    assert empty.count == 0 and empty.table.schema == schema


def test_a_json_body_where_csv_was_asked_is_a_one_line_error():
    with pytest.raises(EloquaError) as error:
        CsvPageDecoder(arrow_schema(CONTACTS)).decode(page_body([{"ContactId": "1"}]))
    assert not isinstance(error.value, MalformedResponse)  # retrying would not help
    assert one_line(str(error.value)) and "transfer='json'" in str(error.value)


def test_a_csv_body_cut_inside_a_quoted_value_is_a_malformed_response():
    body = csv_body(["ContactId", "City"], [["1", "Brno"], ["2", "line\nbreak, and more"]])
    with pytest.raises(MalformedResponse):
        CsvPageDecoder(arrow_schema(CONTACTS)).decode(body[:-12])


def assert_same_part_files(json_dir: Path, csv_dir: Path) -> None:
    names = sorted(os.listdir(json_dir))
    assert names == sorted(os.listdir(csv_dir)) and len(names) > 1
    for name in names:
        assert (json_dir / name).read_bytes() == (csv_dir / name).read_bytes(), name
    assert pq.read_table(csv_dir).equals(pq.read_table(json_dir))


def export_both_ways(sandbox, client: EloquaClient, sync_uri: str, obj: EloquaObject, tmp_path: Path,
                     page_size: int) -> tuple[Path, Path]:
    dirs = []
    csv_staging = sandbox.data_dir / "staged" / f"{sync_uri.rsplit('/', 1)[-1]}.csv"
    for transfer in ("json", "csv"):
        result = export_to_parquet(client, sync_uri, arrow_schema(obj), LOCAL, str(tmp_path / transfer),
                                   page_size=page_size, progress=NullProgress(), transfer=transfer)
        assert result.pages_fetched == len(result.parts) > 1
        assert csv_staging.exists() == (transfer == "csv")  # the sandbox served CSV only when asked
        dirs.append(tmp_path / transfer)
    return dirs[0], dirs[1]


def csv_page(sandbox, sync_uri: str, **params) -> requests.Response:
    response = requests.get(f"{sandbox.bulk_url}{sync_uri}/data", params=params, auth=sandbox.auth,
                            headers={"Accept": "text/csv"}, timeout=30)
    assert response.status_code == 200 and response.headers["Content-Type"].startswith("text/csv")
    return response


@pytest.mark.integration
@pytest.mark.parametrize("obj", [CONTACTS, ACTIVITIES, CAMPAIGN_RESPONSES, SFDC_CAMPAIGNS],
                         ids=lambda o: o.name)
def test_csv_transfer_writes_the_same_part_files_as_json(sandbox, obj, tmp_path):
    with client_for(sandbox) as client:
        if obj is ACTIVITIES:  # five days of bouncebacks: SMTP codes, some blank
            window = window_filter("{{Activity.CreatedAt}}", sandbox.as_of - dt.timedelta(days=5),
                                   sandbox.as_of)
            sync_uri = finished_sync(client, ACTIVITIES, filter=f"'{{{{Activity.Type}}}}' = 'Bounceback' AND {window}")
        else:
            sync_uri = finished_sync(client, obj)
        total = client.get_sync_data(sync_uri, limit=1)["totalResults"]
        json_dir, csv_dir = export_both_ways(sandbox, client, sync_uri, obj, tmp_path, page_size=total // 3 + 1)
    table = pq.read_table(csv_dir)
    if obj is ACTIVITIES:
        codes = table.column("SmtpErrorCode").to_pylist() + table.column("SmtpStatusCode").to_pylist()
        assert None in codes and len({c for c in codes if c}) > 2
    assert_same_part_files(json_dir, csv_dir)


ODD_CONTACTS = [
    {"Email": "odd0@csv.example", "FirstName": "a,b", "LastName": 'say "hi", then go', "Company": "line\nbreak",
     "Title": "cr\r\nlf", "City": "caf\u00e9 \u2603 \u65e5\u672c"},
    {"Email": "odd1@csv.example", "FirstName": '"},{"', "LastName": "a\\", "Company": " padded ",
     "Title": "NULL", "City": ""},
    {"Email": "odd2@csv.example", "FirstName": "lone\rcr", "LastName": "N/A", "Company": '"',
     "Title": ",", "City": "=1+2"},
]
ODD_FIELDS = {"Email": "{{Contact.Field(C_EmailAddress)}}", "FirstName": "{{Contact.Field(C_FirstName)}}",
              "LastName": "{{Contact.Field(C_LastName)}}", "Company": "{{Contact.Field(C_Company)}}",
              "Title": "{{Contact.Field(C_Title)}}", "City": "{{Contact.Field(C_City)}}"}


@pytest.mark.integration
def test_csv_transfer_is_exact_for_commas_quotes_line_breaks_and_unicode(sandbox_factory, tmp_path):
    sandbox = sandbox_factory(contacts=12)  # imports change data: not on the shared sandbox
    with client_for(sandbox) as client:
        definition = client.create_import("contacts", {
            "name": "odd values", "fields": ODD_FIELDS, "identifierFieldName": "Email",
            "isSyncTriggeredOnImport": False})
        client.post_import_data(definition["uri"], ODD_CONTACTS)
        client.wait_for_sync(client.create_sync(definition["uri"])["uri"], accept_warning=False,
                             initial_delay=0.05, max_delay=0.2)
        sync_uri = finished_sync(client, CONTACTS)
        json_dir, csv_dir = export_both_ways(sandbox, client, sync_uri, CONTACTS, tmp_path, page_size=5)
        total = client.get_sync_data(sync_uri, limit=1)["totalResults"]
    assert total == 15
    assert_same_part_files(json_dir, csv_dir)
    by_email = {r["EmailAddress"]: r for r in read_rows(csv_dir)}
    for row in ODD_CONTACTS:
        got = by_email[row["Email"]]
        assert {k: got[k] for k in ("FirstName", "LastName", "Company", "Title", "City")} == {
            k: row[k] or None for k in ("FirstName", "LastName", "Company", "Title", "City")}

    # the sandbox's CSV: RFC 4180 quoting, the definition's names as header, the same rows as JSON pages
    body = csv_page(sandbox, sync_uri, limit=50000).content
    header = body.split(b"\r\n", 1)[0].decode()
    assert header.split(",") == list(CONTACTS.column_names)
    assert b',"say ""hi"", then go",' in body and b',"line\nbreak",' in body and b',"cr\r\nlf",' in body
    assert "caf\u00e9 \u2603 \u65e5\u672c".encode() in body and b',"""",' in body
    assert b",odd1@csv.example," in body and b", padded ,NULL," in body  # only what needs quotes is quoted
    pages = [csv_page(sandbox, sync_uri, limit=4, offset=o).content for o in range(0, total, 4)]
    assert all(p.startswith(header.encode() + b"\r\n") for p in pages)
    assert b"".join(p[len(header) + 2:] for p in pages) == body[len(header) + 2:]
    parsed = list(csv.DictReader(io.StringIO(body.decode(), newline="")))
    with client_for(sandbox) as client:
        assert parsed == client.get_sync_data(sync_uri, limit=50000)["items"]


@pytest.mark.integration
def test_a_csv_export_survives_dropped_connections_and_resumes_json_parts(clean_faults, contacts_sync,
                                                                          contacts_expected, tmp_path):
    sandbox = clean_faults
    with client_for(sandbox) as client:
        export_to_parquet(client, contacts_sync, arrow_schema(CONTACTS), LOCAL, str(tmp_path / "json"),
                          page_size=PAGE, progress=NullProgress())
        for name in ("part-0000000064.parquet", "part-0000000384.parquet"):
            os.remove(tmp_path / "json" / name)
        sandbox.set_faults({"seed": 3, "faults": [{"kind": "drop", "count": 2, "route": "GET /syncs/*/data"}]})
        result = export_to_parquet(client, contacts_sync, arrow_schema(CONTACTS), LOCAL,
                                   str(tmp_path / "json"), page_size=PAGE, progress=NullProgress(),
                                   transfer="csv")
    assert sandbox.state()["faults"]["faults"][0]["fired"] == 2
    assert (result.pages_fetched, result.rows_fetched) == (2, PAGE + len(contacts_expected) - 6 * PAGE)
    assert by_key(read_rows(tmp_path / "json"), "ContactId") == contacts_expected


def test_an_unknown_transfer_is_refused_before_any_request(tmp_path):
    with pytest.raises(ValueError, match="transfer"):
        export_to_parquet(None, "/syncs/1", arrow_schema(CONTACTS), LOCAL, str(tmp_path),
                          transfer="xml")
    assert not os.listdir(tmp_path)
