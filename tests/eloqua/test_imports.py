"""Loads into the sandbox over sockets: chunks, rejects, time zones, reruns, SIGKILLs and faults.

Each test gets a fresh sandbox (imports change its data) and a payload written into a ``file://`` or SeaweedFS
``s3://`` lake. What Eloqua holds afterwards is compared, row for row, with what the payload says it should
hold (:func:`expected_after`), from the sandbox's own dump.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import os
import re
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pyarrow as pa
import pyarrow.fs as pafs
import pyarrow.parquet as pq
import pytest

from contract.objects import CONTACTS, PAYLOADS
from eloqua.client import EloquaClient, RetryPolicy
from eloqua.errors import SyncFailed, SyncTimeout
from eloqua.export import arrow_schema, arrow_type, export_to_parquet
from eloqua.imports import LoadError, LoadOptions, definition_name, load_payload, serialise, state_url
from eloqua.settings import EloquaSettings
from lake.storage import Lake, open_lake
from tests.fixtures.sandbox import SandboxHandle
from tests.support.eloqua_sync import finished_sync

REPO = Path(__file__).resolve().parents[2]
D = dt.date(2026, 11, 26)
NEW_YORK = ZoneInfo("America/New_York")
FAST_RETRY = RetryPolicy(max_attempts=6, base_delay=0.05, max_delay=0.5, max_elapsed=60.0)
EMAIL = "{{Contact.Field(C_EmailAddress)}}"
UPDATED = "{{Contact.UpdatedAt}}"
VALID_EMAIL = re.compile(r"[a-z0-9._%+'-]+@[a-z0-9-]+(\.[a-z0-9-]+)*\.[a-z]{2,}")  # the spec's rule
SMALL_POSTS = 700  # bytes: a 30-row contact payload goes out in several chunks
LEAD_FIELDS = {"LeadRating": "{{Contact.Field(C_Lead_Rating1)}}",
               "ProfileScore": "{{Contact.Field(C_Lead_Profile_Score1)}}",
               "EngagementScore": "{{Contact.Field(C_Lead_Engagement_Score1)}}"}


# ------------------------------------------------------------------------------------------ fixtures


@pytest.fixture
def sb(sandbox_factory: Callable[..., SandboxHandle]) -> SandboxHandle:
    return sandbox_factory(contacts=200, seed=3)


@pytest.fixture(params=["file", "s3"])
def lake_env(request: pytest.FixtureRequest, tmp_path: Path) -> tuple[Lake, dict[str, str]]:
    """A lake and the environment variables that name it to a subprocess."""
    if request.param == "file":
        url = f"file://{tmp_path}/lake"
        return open_lake(url), {"SCC_LAKE_URL": url}
    seaweed = request.getfixturevalue("seaweed")
    url = seaweed.lake_url()
    return open_lake(url, seaweed.settings()), {**seaweed.env({}), "SCC_LAKE_URL": url}


@pytest.fixture
def lake(lake_env: tuple[Lake, dict[str, str]]) -> Lake:
    return lake_env[0]


def client_for(sb: SandboxHandle) -> EloquaClient:
    return EloquaClient(EloquaSettings.basic(sb.site, sb.user, sb.password, login_url=sb.url), retry=FAST_RETRY)


def load(sb: SandboxHandle, lake: Lake, pipeline: str, **options: Any) -> dict[str, Any]:
    with client_for(sb) as client:
        return load_payload(client, lake, PAYLOADS[pipeline], D,
                            options=LoadOptions(**{"max_post_bytes": SMALL_POSTS, "sync_timeout": 60, **options}))


# ------------------------------------------------------------------------------------------ payloads


def clean_contacts(sb: SandboxHandle, n: int) -> list[dict[str, str]]:
    """``n`` contacts whose e-mail is clean and theirs alone (what the Spark jobs let through)."""
    rows = [r for r in sb.dump("contacts") if r[EMAIL].strip()]
    lowered = [r[EMAIL].strip().lower() for r in rows]
    clean = [r for r in rows if VALID_EMAIL.fullmatch(r[EMAIL]) and lowered.count(r[EMAIL]) == 1]
    assert len(clean) >= n
    return clean[:n]


def write_payload(lake: Lake, pipeline: str, rows: list[dict[str, Any]]) -> None:
    """``import_ready/<pipeline>/run_date=D`` as the Spark job publishes it (two part files)."""
    payload = PAYLOADS[pipeline]
    schema = pa.schema([pa.field(c.name, arrow_type(c.type)) for c in payload.columns])
    table = pa.Table.from_pylist(rows, schema)
    with lake.atomic_dataset(lake.layout.import_ready(pipeline, D)) as staging:
        fs, path = lake.fs_path(staging)
        half = table.num_rows // 2
        pq.write_table(table.slice(0, half), f"{path}/part-00000.parquet", filesystem=fs)
        pq.write_table(table.slice(half), f"{path}/part-00001.parquet", filesystem=fs)


def lead_payload(targets: list[dict[str, str]]) -> list[dict[str, Any]]:
    letters, digits = "ABCD", "1234"
    return [{"EmailAddress": t[EMAIL], "LeadRating": letters[i % 4] + digits[i % 3],
             "ProfileScore": (7 * i) % 101, "EngagementScore": (11 * i) % 101} for i, t in enumerate(targets)]


def expected_after(before: list[dict[str, str]], payload: list[dict[str, Any]],
                   fields: dict[str, str]) -> dict[str, dict[str, str]]:
    """The contacts Eloqua should hold: ``before`` with the payload's values, keyed by contact id, without
    ``UpdatedAt`` (the sandbox's clock; checked separately)."""
    by_email = {r["EmailAddress"]: r for r in payload}
    out = {}
    for row in before:
        row = _comparable(row)
        new = by_email.get(row[EMAIL])
        if new is not None:
            row.update({st: "" if new[name] is None else str(new[name]) for name, st in fields.items()})
        out[row["{{Contact.Id}}"]] = row
    return out


def _comparable(row: dict[str, str]) -> dict[str, str]:
    """A dumped contact without what the sandbox derives: its clock (UpdatedAt, C_DateModified) and the scoring
    model's statements, which mirror the lead fields the payloads write (those are compared)."""
    return {k: v for k, v in row.items()
            if k not in (UPDATED, "{{Contact.Field(C_DateModified)}}") and not k.startswith("{{Contact.LeadScore.")}


def actual(sb: SandboxHandle) -> dict[str, dict[str, str]]:
    return {r["{{Contact.Id}}"]: _comparable(r) for r in sb.dump("contacts")}


def import_syncs(sb: SandboxHandle, pipeline: str = "lead_scoring") -> list[dict[str, Any]]:
    name = definition_name(pipeline, D)
    return [s for s in sb.state()["syncs"] if s["kind"] == "imports" and s["definition"]["name"] == name]


def logs_of(sb: SandboxHandle, sync_uri: str) -> dict[str, int]:
    with client_for(sb) as client:
        return {e["statusCode"]: int(e["count"]) for e in client.sync_logs(sync_uri)}


def assert_loaded_once(sb: SandboxHandle, lake: Lake, payload: list[dict[str, Any]],
                       before: list[dict[str, str]], pipeline: str = "lead_scoring") -> dict[str, Any]:
    """Exactly one successful sync took exactly the payload's rows; nothing is left staged; Eloqua holds
    what the payload says; the receipt says so and the resume state is gone."""
    syncs = import_syncs(sb, pipeline)
    succeeded = [s for s in syncs if s["status"] == "success"]
    assert len(succeeded) == 1, syncs
    assert logs_of(sb, succeeded[0]["uri"])["ELQ-00130"] == len(payload), "rows staged twice or lost"
    assert sb.state()["staged_imports"] == {}, "staged data left on a definition"
    assert actual(sb) == expected_after(before, payload, LEAD_FIELDS)
    receipt = json.loads(lake.read_bytes(lake.layout.loaded_receipt(pipeline, D)))
    assert (receipt["sync_uri"], receipt["status"], receipt["rows_staged"], receipt["rows_rejected"]) == (
        succeeded[0]["uri"], "success", len(payload), 0)
    assert not lake.exists(state_url(lake, pipeline, D))
    return receipt


# ------------------------------------------------------------------------------------------ serialisation


def test_chunks_hold_every_row_once_under_the_size_limit_with_a_header_each() -> None:
    payload = PAYLOADS["lead_scoring"]
    rows = [{"EmailAddress": f"c{i}@example.com", "LeadRating": "B2", "ProfileScore": i, "EngagementScore": None}
            for i in range(50)]
    batches = pa.Table.from_pylist(rows, pa.schema([(c.name, arrow_type(c.type)) for c in payload.columns]))
    chunks = list(serialise(batches.to_batches(max_chunksize=7), payload, NEW_YORK, "csv", max_bytes=300))
    assert len(chunks) > 3 and all(len(c.body) <= 300 for c in chunks)
    lines = [line for c in chunks for line in c.body.decode().splitlines()]
    header = "EmailAddress,LeadRating,ProfileScore,EngagementScore"
    assert lines.count(header) == len(chunks) and sum(c.rows for c in chunks) == 50
    assert [line for line in lines if line != header] == [f'"c{i}@example.com","B2","{i}",' for i in range(50)]


def test_json_chunks_are_arrays_of_flat_objects_with_blanks_for_nulls() -> None:
    payload = PAYLOADS["hard_bounces"]
    schema = pa.schema([(c.name, arrow_type(c.type)) for c in payload.columns])
    table = pa.Table.from_pylist([{"EmailAddress": "a@example.com", "HardBouncedAt": None, "IsBounced": True},
                                  {"EmailAddress": "b@example.com", "HardBouncedAt": None, "IsBounced": False}],
                                 schema)
    chunks = list(serialise(table.to_batches(), payload, NEW_YORK, "json", max_bytes=100))
    assert [json.loads(c.body) for c in chunks] == [
        [{"EmailAddress": "a@example.com", "HardBouncedAt": "", "IsBounced": "true"}],
        [{"EmailAddress": "b@example.com", "HardBouncedAt": "", "IsBounced": "false"}]]
    assert {c.content_type for c in chunks} == {"application/json"}


@pytest.mark.parametrize(("utc", "instance"), [
    ("2026-10-31 16:00:00", "2026-10-31 12:00:00"),  # EDT, UTC-4, the day before the change
    ("2026-11-02 16:00:00", "2026-11-02 11:00:00"),  # EST, UTC-5, after it
    ("2026-03-08 06:59:59", "2026-03-08 01:59:59"),  # the last second of EST in spring
    ("2026-03-08 07:00:00", "2026-03-08 03:00:00"),  # 02:00 EST is 03:00 EDT
    ("2026-03-08 07:00:00.999999", "2026-03-08 03:00:00"),  # whole seconds: the fraction is dropped, not rounded
])
def test_instance_time_columns_are_written_on_the_instance_clock(utc: str, instance: str) -> None:
    payload = PAYLOADS["hard_bounces"]
    schema = pa.schema([(c.name, arrow_type(c.type)) for c in payload.columns])
    moment = dt.datetime.fromisoformat(utc).replace(tzinfo=dt.UTC)
    table = pa.Table.from_pylist([{"EmailAddress": "a@example.com", "HardBouncedAt": moment, "IsBounced": True}],
                                 schema)
    (chunk,) = serialise(table.to_batches(), payload, NEW_YORK, "csv")
    assert chunk.body.decode().splitlines()[1] == f'"a@example.com","{instance}","true"'


def test_a_row_bigger_than_a_post_fails_in_one_line() -> None:
    payload = PAYLOADS["contact_washing"]
    schema = pa.schema([(c.name, arrow_type(c.type)) for c in payload.columns])
    table = pa.Table.from_pylist([{"EmailAddress": "a@example.com", "Country": "x" * 500}], schema)
    with pytest.raises(LoadError, match="one row of contact_washing needs"):
        list(serialise(table.to_batches(), payload, NEW_YORK, "csv", max_bytes=200))


# ------------------------------------------------------------------------------------------ loads


@pytest.mark.integration
@pytest.mark.parametrize("transfer", ["csv", "json"])
def test_a_load_updates_exactly_the_payload_contacts(sb: SandboxHandle, lake: Lake, transfer: str) -> None:
    before = sb.dump("contacts")
    payload = lead_payload(clean_contacts(sb, 30))
    write_payload(lake, "lead_scoring", payload)
    receipt = load(sb, lake, "lead_scoring", transfer=transfer)
    assert_loaded_once(sb, lake, payload, before)
    assert receipt["chunks_posted"] > 2 and receipt["payload_rows"] == 30
    assert receipt["definition_uri"] == import_syncs(sb)[0]["syncedInstanceUri"]
    assert receipt["log_counts"]["ELQ-00022"] == 30
    definition = import_syncs(sb)[0]["definition"]
    assert (definition["identifierFieldName"], definition["updateRule"], definition["isSyncTriggeredOnImport"]) \
        == ("EmailAddress", "always", False)
    # the loaded contacts moved UpdatedAt, so the next night's increment export sees them; nobody else did
    old = {r["{{Contact.Id}}"]: r[UPDATED] for r in before}
    moved = {r[EMAIL] for r in sb.dump("contacts") if r[UPDATED] != old[r["{{Contact.Id}}"]]}
    changed = {p["EmailAddress"] for p, b in zip(payload, clean_contacts_in(before, payload), strict=True)
               if any(str(p[n]) != b[st] for n, st in LEAD_FIELDS.items())}
    assert moved == changed and len(changed) > 20


@pytest.mark.integration
def test_a_load_reports_its_staging_progress_in_rows(sb: SandboxHandle, lake: Lake,
                                                    caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="eloqua.progress")
    write_payload(lake, "lead_scoring", lead_payload(clean_contacts(sb, 30)))
    receipt = load(sb, lake, "lead_scoring")
    lines = [r.getMessage() for r in caplog.records if r.name == "eloqua.progress"]
    label = f"load lead_scoring {receipt['run_date']} {receipt['definition_uri']}"
    assert lines[0] == f"{label}: staging 30 rows"
    assert lines[-1].startswith(f"{label}: 30/30 rows (100%)") and lines[-1].endswith("(done)"), lines


def clean_contacts_in(before: list[dict[str, str]], payload: list[dict[str, Any]]) -> list[dict[str, str]]:
    by_email = {r[EMAIL]: r for r in before}
    return [by_email[p["EmailAddress"]] for p in payload]


@pytest.mark.integration
def test_a_rerun_changes_nothing_and_starts_no_sync(sb: SandboxHandle, lake: Lake) -> None:
    payload = lead_payload(clean_contacts(sb, 12))
    write_payload(lake, "lead_scoring", payload)
    first = load(sb, lake, "lead_scoring")
    after_first, requests_before = sb.dump("contacts"), bulk_requests(sb)
    assert load(sb, lake, "lead_scoring") == first
    assert sb.dump("contacts") == after_first and len(import_syncs(sb)) == 1
    assert bulk_requests(sb) == requests_before, "a rerun with a receipt spoke to Eloqua"


def bulk_requests(sb: SandboxHandle) -> dict[str, Any]:
    return {k: v for k, v in sb.state()["requests"].items() if " /sandbox/" not in k}


@pytest.mark.integration
def test_a_custom_object_load_updates_rows_on_their_unique_code(sb: SandboxHandle, lake: Lake) -> None:
    with client_for(sb) as client:
        cdo = client.find_custom_object("Campaign Responses")["uri"]
        statements = {f["name"]: f["statement"] for f in client.list_custom_object_fields(cdo)}
    before = sb.dump(f"customObjects/{cdo.rsplit('/', 1)[-1]}")
    targets = [r[statements["ResponseId"]] for r in before[:9]]
    payload = [{"ResponseId": rid, "CampaignName": f"FY27 Campaign {i}", "CampaignType": "Webinar",
                "LeadRatingAtResponse": "A1" if i % 2 else None, "StatusNormalized": "Responded"}
               for i, rid in enumerate(targets)]
    write_payload(lake, "campaign_responses", payload)
    receipt = load(sb, lake, "campaign_responses")
    assert (receipt["status"], receipt["rows_staged"], receipt["log_counts"]["ELQ-00012"]) == ("success", 9, 9)
    after = sb.dump(f"customObjects/{cdo.rsplit('/', 1)[-1]}")
    expected = [dict(r) for r in before]
    for row in expected:
        new = next((p for p in payload if p["ResponseId"] == row[statements["ResponseId"]]), None)
        if new:
            row.update({statements[k]: v or "" for k, v in new.items()})
    strip = [statements.get("UpdatedAt"), "{{CustomObject[41].UpdatedAt}}"]
    assert [{k: v for k, v in r.items() if k not in strip} for r in after] == \
        [{k: v for k, v in r.items() if k not in strip} for r in expected]
    assert import_syncs(sb, "campaign_responses")[0]["definition"]["identifierFieldName"] == "ResponseId"


@pytest.mark.integration
def test_rejected_rows_land_in_rejects_with_message_and_code(sb: SandboxHandle, lake: Lake) -> None:
    targets = clean_contacts(sb, 4)
    payload: list[dict[str, Any]] = [{"EmailAddress": t[EMAIL], "Country": "US", "StateProv": "NC", "JobLevel": "VP"}
                                     for t in targets]
    payload.insert(2, {"EmailAddress": "not an email", "Country": "US", "StateProv": None, "JobLevel": "VP"})
    write_payload(lake, "contact_washing", payload)
    receipt = load(sb, lake, "contact_washing")
    assert (receipt["status"], receipt["rows_staged"], receipt["rows_rejected"]) == ("warning", 5, 1)
    assert receipt["rejects"] == lake.layout.rejects("contact_washing", D)
    assert lake.is_complete(receipt["rejects"])
    fs, path = lake.fs_path(receipt["rejects"])
    rejects = pq.read_table(path, filesystem=fs).to_pylist()
    assert rejects == [{"EmailAddress": "not an email", "Country": "US", "StateProv": "", "JobLevel": "VP",
                        "message": "Invalid email address.", "statusCode": "ELQ-00002", "recordIndex": 3,
                        "invalidFields": ["C_EmailAddress"]}]
    assert receipt["log_counts"]["ELQ-00060"] == 1


@pytest.mark.integration
def test_an_empty_payload_writes_a_receipt_without_touching_eloqua(sb: SandboxHandle, lake: Lake) -> None:
    write_payload(lake, "hard_bounces", [])
    receipt = load(sb, lake, "hard_bounces")
    assert (receipt["status"], receipt["sync_uri"], receipt["payload_rows"]) == ("empty", None, 0)
    assert sb.state()["syncs"] == []


@pytest.mark.integration
def test_a_payload_needing_more_than_500_posts_fails_before_its_sync(sb: SandboxHandle, lake: Lake) -> None:
    payload = lead_payload(clean_contacts(sb, 12))
    write_payload(lake, "lead_scoring", payload)
    with pytest.raises(LoadError, match="needs more than 3 data posts"):
        load(sb, lake, "lead_scoring", max_posts=3, max_post_bytes=200)
    assert import_syncs(sb) == [] and sb.state()["staged_imports"] == {}
    assert not lake.exists(lake.layout.loaded_receipt("lead_scoring", D))


@pytest.mark.integration
def test_time_zone_round_trip_across_the_dst_change(sb: SandboxHandle, lake: Lake, tmp_path: Path) -> None:
    """HardBouncedAt leaves the lake in UTC, is written on the instance's clock (EDT, then EST), is held by
    Eloqua as the right instant, and the extract reads it back equal."""
    targets = clean_contacts(sb, 2)
    instants = [dt.datetime(2026, 10, 31, 16, 0, tzinfo=dt.UTC), dt.datetime(2026, 11, 2, 16, 0, tzinfo=dt.UTC)]
    payload = [{"EmailAddress": t[EMAIL], "HardBouncedAt": at, "IsBounced": True}
               for t, at in zip(targets, instants, strict=True)]
    write_payload(lake, "hard_bounces", payload)
    load(sb, lake, "hard_bounces", timezone=NEW_YORK)
    statement = CONTACTS.column("HardBouncedAt").statement or ""
    held = {r[EMAIL]: r[statement] for r in sb.dump("contacts")}  # the sandbox's truth, in UTC
    assert [held[t[EMAIL]] for t in targets] == ["2026-10-31 16:00:00.000", "2026-11-02 16:00:00.000"]
    with client_for(sb) as client:
        sync_uri = finished_sync(client, CONTACTS, timeout=60)
        result = export_to_parquet(client, sync_uri, arrow_schema(CONTACTS, NEW_YORK), pafs.LocalFileSystem(),
                                   str(tmp_path / "raw"))
    read = {r["EmailAddress"]: r["HardBouncedAt"] for r in pq.read_table(result.parts).to_pylist()}
    assert [read[t[EMAIL]] for t in targets] == instants


# ------------------------------------------------------------------------------------------ faults


FAULTS = {
    "429 on data posts": [{"kind": "status", "route": "POST /*/imports/*/data", "status": 429, "count": 3}],
    "503 on a data post": [{"kind": "status", "route": "POST /*/imports/*/data", "status": 503, "count": 1,
                            "after": 1}],
    "a data post's answer dropped": [{"kind": "drop", "route": "POST /*/imports/*/data", "count": 1,
                                      "after": 1}],
    "POST /syncs answer dropped": [{"kind": "drop", "route": "POST /syncs", "count": 1}],
    "500 and 429 while polling": [{"kind": "status", "route": "GET /syncs/{id}", "status": 500, "count": 2},
                                  {"kind": "status", "route": "GET /syncs/{id}", "status": 429, "count": 2}],
    "a logs answer dropped": [{"kind": "drop", "route": "GET /syncs/*/logs", "count": 1}],
    "slow sync": [{"kind": "slow_pending", "match": "/contacts/imports/*", "seconds": 1.5}],
}


@pytest.mark.integration
@pytest.mark.parametrize("faults", list(FAULTS.values()), ids=list(FAULTS))
def test_a_load_through_faults_ends_in_the_same_state(sb: SandboxHandle, lake: Lake,
                                                       faults: list[dict[str, Any]]) -> None:
    before = sb.dump("contacts")
    payload = lead_payload(clean_contacts(sb, 20))
    write_payload(lake, "lead_scoring", payload)
    sb.set_faults({"seed": 1, "faults": faults})
    load(sb, lake, "lead_scoring")
    assert all(f["fired"] for f in sb.state()["faults"]["faults"]), "a fault never fired"
    assert_loaded_once(sb, lake, payload, before)


@pytest.mark.integration
def test_a_failed_sync_fails_cleanly_and_the_rerun_completes_it(sb: SandboxHandle, lake: Lake) -> None:
    before = sb.dump("contacts")
    payload = lead_payload(clean_contacts(sb, 20))
    write_payload(lake, "lead_scoring", payload)
    sb.set_faults({"faults": [{"kind": "sync_error", "match": "/contacts/imports/*", "count": 1}]})
    with pytest.raises(SyncFailed, match="ended in error"):
        load(sb, lake, "lead_scoring")
    assert not lake.exists(lake.layout.loaded_receipt("lead_scoring", D))
    receipt = load(sb, lake, "lead_scoring")
    assert [s["status"] for s in import_syncs(sb)] == ["error", "success"]
    assert assert_loaded_once(sb, lake, payload, before)["failed_syncs"] == [import_syncs(sb)[0]["uri"]]
    assert receipt["sync_uri"] == import_syncs(sb)[1]["uri"]


@pytest.mark.integration
def test_a_stuck_sync_times_out_and_the_rerun_follows_the_same_sync(sb: SandboxHandle, lake: Lake) -> None:
    before = sb.dump("contacts")
    payload = lead_payload(clean_contacts(sb, 20))
    write_payload(lake, "lead_scoring", payload)
    sb.set_faults({"faults": [{"kind": "stuck_pending", "match": "/contacts/imports/*"}]})
    with pytest.raises(SyncTimeout, match="still pending"):
        load(sb, lake, "lead_scoring", sync_timeout=1.0)
    sb.clear_faults()  # releases the stuck sync
    load(sb, lake, "lead_scoring")
    assert len(import_syncs(sb)) == 1
    assert_loaded_once(sb, lake, payload, before)


# ------------------------------------------------------------------------------------------ kills


def run_loader(sb: SandboxHandle, env: dict[str, str], tmp_path: Path,
               pause: str | None = None) -> subprocess.Popen[str]:
    full = {k: v for k, v in os.environ.items() if not k.startswith(("ELOQUA_", "SCC_", "AWS_"))}
    full.update(env, ELOQUA_LOGIN_URL=sb.url, ELOQUA_SITE=sb.site, ELOQUA_USER=sb.user,
                ELOQUA_PASSWORD=sb.password, PYTHONPATH=str(REPO))
    if pause:
        full.update(SCC_TEST_LOAD_PAUSE=pause, SCC_TEST_LOAD_PAUSE_FILE=str(tmp_path / "paused.json"))
    argv = [sys.executable, "-m", "tests.support.load_runner", "lead_scoring", str(D),
            "--max-post-bytes", str(SMALL_POSTS)]
    return subprocess.Popen(argv, env=full, cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def killed_at(proc: subprocess.Popen[str], pause_file: Path, timeout: float = 120) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    try:
        while not pause_file.exists():
            if proc.poll() is not None:
                pytest.fail(f"the load exited ({proc.returncode}) before pausing: {proc.communicate()[1][-2000:]}")
            assert time.monotonic() < deadline, "the load never reached its pause point"
            time.sleep(0.05)
    finally:
        os.kill(proc.pid, signal.SIGKILL)
        proc.communicate(timeout=30)
    assert proc.returncode == -signal.SIGKILL
    return dict(json.loads(pause_file.read_text()))


@pytest.fixture
def killed_load(sb: SandboxHandle, lake_env: tuple[Lake, dict[str, str]],
                tmp_path: Path) -> Iterator[Callable[[str], tuple[list[dict[str, Any]], list[dict[str, str]]]]]:
    lake, env = lake_env

    def kill_at(pause: str) -> tuple[list[dict[str, Any]], list[dict[str, str]]]:
        before = sb.dump("contacts")
        payload = lead_payload(clean_contacts(sb, 30))
        write_payload(lake, "lead_scoring", payload)
        killed_at(run_loader(sb, env, tmp_path, pause), tmp_path / "paused.json")
        assert not lake.exists(lake.layout.loaded_receipt("lead_scoring", D))
        return payload, before

    yield kill_at


def rerun(sb: SandboxHandle, lake_env: tuple[Lake, dict[str, str]], tmp_path: Path) -> None:
    proc = run_loader(sb, lake_env[1], tmp_path)
    _out, err = proc.communicate(timeout=180)
    assert proc.returncode == 0, err[-2000:]


@pytest.mark.integration
@pytest.mark.slow
def test_killed_after_some_chunks_the_rerun_restages_from_scratch(sb, lake_env, tmp_path, killed_load) -> None:
    payload, before = killed_load("chunk:2")
    staged = sb.state()["staged_imports"]
    assert [v["posts"] for v in staged.values()] == [2] and import_syncs(sb) == []
    rerun(sb, lake_env, tmp_path)
    assert_loaded_once(sb, lake_env[0], payload, before)


@pytest.mark.integration
@pytest.mark.slow
@pytest.mark.parametrize("pause", ["sync_posted", "sync_recorded"])
def test_killed_after_the_sync_was_created_the_rerun_adopts_it(sb, lake_env, tmp_path, killed_load,
                                                                pause: str) -> None:
    payload, before = killed_load(pause)
    assert len(import_syncs(sb)) == 1
    rerun(sb, lake_env, tmp_path)
    assert len(import_syncs(sb)) == 1, "the rerun started a second sync"
    assert_loaded_once(sb, lake_env[0], payload, before)


@pytest.mark.integration
@pytest.mark.slow
def test_killed_after_the_sync_succeeded_the_rerun_only_writes_the_receipt(sb, lake_env, tmp_path,
                                                                          killed_load) -> None:
    payload, before = killed_load("sync_done")
    loaded = sb.dump("contacts")
    assert [s["status"] for s in import_syncs(sb)] == ["success"]
    rerun(sb, lake_env, tmp_path)
    assert sb.dump("contacts") == loaded, "the rerun loaded the data again"
    assert_loaded_once(sb, lake_env[0], payload, before)
