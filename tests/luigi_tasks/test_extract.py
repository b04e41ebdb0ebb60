"""The extract tasks against the sandbox over real sockets: rows, values and types of the raw Parquet.

Expected rows come from the sandbox's own store (``/sandbox/dump``), converted here independently of
``eloqua.export``: '' is null, ints are ints, booleans are true/false, timestamps are UTC.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import json
import os
import sqlite3
import subprocess
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import luigi
import pyarrow as pa
import pyarrow.dataset as pads
import pyarrow.fs as pafs
import pyarrow.parquet as pq
import pytest
from luigi.execution_summary import LuigiStatusCode

from contract.objects import ACTIVITIES, CAMPAIGN_RESPONSES, CONTACTS, SFDC_CAMPAIGNS, EloquaObject
from contract.settings import LOOKBACK_DAYS
from luigi_tasks.extract import (
    ExtractActivities,
    ExtractActivityLookback,
    ExtractActivityRange,
    ExtractAll,
    ExtractContacts,
    ExtractCustomObject,
)
from tests.fixtures.sandbox import SandboxHandle

pytestmark = pytest.mark.integration

REPO = Path(__file__).resolve().parents[2]
D = dt.date(2026, 11, 20)  # the session sandbox is as of 2026-11-27: activities exist for every day before it
UTC = dt.UTC
CONTRACT_ARROW_TYPES = {"string": pa.string(), "int": pa.int64(), "boolean": pa.bool_(),
                        "timestamp": pa.timestamp("us", tz="UTC")}
RETCODES = {"task_failed": 30, "scheduling_error": 35, "unhandled_exception": 40, "missing_data": 20}


# ---------------------------------------------------------------------------------------------- helpers


def eloqua_env(sandbox: SandboxHandle, password: str | None = None) -> dict[str, str]:
    """ELOQUA_* variables for Basic auth against ``sandbox``."""
    return {"ELOQUA_LOGIN_URL": sandbox.url, "ELOQUA_SITE": sandbox.site, "ELOQUA_USER": sandbox.user,
            "ELOQUA_PASSWORD": password or sandbox.password}


def luigi_cfg(path: Path, lake_url: str, page_size: int = 50, concurrency: int = 2,
              extra: str = "") -> Path:
    """A luigi.cfg for subprocess runs: the lake, small pages, non-zero exit codes, the sync resource."""
    retcodes = "\n".join(f"{k} = {v}" for k, v in RETCODES.items())
    path.write_text(f"[lake]\nurl = {lake_url}\n\n[extract]\npage_size = {page_size}\n"
                    f"concurrency = {concurrency}\n\n[retcode]\n{retcodes}\n\n"
                    f"[resources]\neloqua_bulk_syncs = 2\n\n{extra}\n")
    return path


def subprocess_env(sandbox: SandboxHandle, config: Path, password: str | None = None,
                   extra: dict[str, str] | None = None) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("ELOQUA_", "SCC_LAKE", "LUIGI_CONFIG")) and k != "AWS_SESSION_TOKEN"}
    env.update(eloqua_env(sandbox, password), LUIGI_CONFIG_PATH=str(config), PYTHONPATH=str(REPO))
    env.update(extra or {})
    return env


def run_luigi_cli(args: list[str], env: dict[str, str], timeout: float = 300) -> subprocess.CompletedProcess:
    """``luigi --module luigi_tasks.extract <args> --local-scheduler`` as a subprocess."""
    luigi_bin = str(Path(sys.executable).with_name("luigi"))
    return subprocess.run([luigi_bin, "--module", "luigi_tasks.extract", *args, "--local-scheduler"],
                          env=env, cwd=REPO, capture_output=True, text=True, timeout=timeout)


@contextlib.contextmanager
def luigi_config(values: dict[tuple[str, str], str]) -> Iterator[None]:
    """Set luigi config options in this process for the block, restoring the previous ones afterwards."""
    config = luigi.configuration.get_config()
    saved: dict[tuple[str, str], str | None] = {}
    for (section, option), value in values.items():
        saved[(section, option)] = config.get(section, option, None) if config.has_option(section, option) \
            else None
        config.set(section, option, value)
    try:
        yield
    finally:
        for (section, option), old in saved.items():
            if old is None:
                config.remove_option(section, option)
            else:
                config.set(section, option, old)


@dataclass
class ExtractRun:
    """Runs extract tasks in this process against one sandbox and a local lake under ``root``."""

    root: Path
    sandbox: SandboxHandle

    @property
    def lake_url(self) -> str:
        return f"file://{self.root}"

    def build(self, *tasks: luigi.Task) -> luigi.execution_summary.LuigiRunResult:
        return luigi.build(list(tasks), local_scheduler=True, detailed_summary=True, log_level="WARNING")

    def run(self, *tasks: luigi.Task) -> None:
        result = self.build(*tasks)
        ok = (LuigiStatusCode.SUCCESS, LuigiStatusCode.SUCCESS_WITH_RETRY)
        assert result.status in ok, result.summary_text

    def path(self, *parts: str) -> Path:
        return self.root.joinpath(*parts)

    def table(self, *parts: str) -> pa.Table:
        return pq.read_table(self.path(*parts))

    def manifest(self, *parts: str) -> dict[str, Any]:
        return json.loads(self.path(*parts, "_export.json").read_text())

    def fake_snapshot(self, day: dt.date) -> None:
        """A complete ``staged/contacts/run_date=day`` (only its flag matters to the extract)."""
        folder = self.path("staged", "contacts", f"run_date={day}")
        folder.mkdir(parents=True)
        (folder / "_SUCCESS").write_text("")


@pytest.fixture
def extract_run(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Callable[..., ExtractRun]]:
    """``extract_run(sandbox)``: luigi config and ELOQUA_* pointing at ``sandbox`` and a fresh local lake."""
    stack = contextlib.ExitStack()

    def make(sandbox: SandboxHandle, page_size: int = 50, transfer: str = "json") -> ExtractRun:
        run = ExtractRun(tmp_path / "lake", sandbox)
        for name in ("SCC_LAKE_URL", "ELOQUA_CLIENT_ID", "ELOQUA_CLIENT_SECRET", "ELOQUA_REFRESH_TOKEN"):
            monkeypatch.delenv(name, raising=False)
        for name, value in eloqua_env(sandbox).items():
            monkeypatch.setenv(name, value)
        stack.enter_context(luigi_config({("lake", "url"): run.lake_url,
                                          ("extract", "page_size"): str(page_size),
                                          ("extract", "concurrency"): "2",
                                          ("extract", "transfer"): transfer}))
        return run

    with stack:
        yield make


def convert(value: str, logical: str) -> Any:
    """An exported string as the contract type: '' -> None; timestamps are UTC."""
    if value == "":
        return None
    if logical == "int":
        return int(value)
    if logical == "boolean":
        return {"true": True, "false": False}[value]
    if logical == "timestamp":
        return dt.datetime.fromisoformat(value).replace(tzinfo=UTC)
    return value


def expected_rows(dump: list[dict[str, Any]], obj: EloquaObject, statements: dict[str, str],
                  keep: Callable[[dict[str, Any]], bool] = lambda row: True) -> list[dict[str, Any]]:
    """Dump rows as raw Parquet rows (``statements``: column -> statement), filtered by ``keep``."""
    rows = [{c.name: convert(raw[statements[c.name]], c.type) for c in obj.columns} for raw in dump]
    return [r for r in rows if keep(r)]


def by_key(rows: list[dict[str, Any]], key: str) -> list[dict[str, Any]]:
    return sorted(rows, key=lambda r: r[key])


def contract_statements(obj: EloquaObject) -> dict[str, str]:
    return {c.name: c.statement or "" for c in obj.columns}


def export_syncs(sandbox: SandboxHandle) -> list[dict[str, Any]]:
    return [s for s in sandbox.state()["syncs"] if s["kind"] == "exports"]


def sync_statements(sandbox: SandboxHandle, sync_uri: str) -> dict[str, str]:
    """The ``fields`` map of the definition a sync exported (CDO statements are instance-specific)."""
    sync = next(s for s in sandbox.state()["syncs"] if s["uri"] == sync_uri)
    return dict(sync["definition"]["fields"])


def midnight(day: dt.date) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(), UTC)


def in_days(value: dt.datetime | None, first: dt.date, last: dt.date) -> bool:
    """``first 00:00 <= value < last+1 00:00`` (UTC)."""
    return value is not None and midnight(first) <= value < midnight(last + dt.timedelta(days=1))


# ---------------------------------------------------------------------------------------------- contacts


@pytest.mark.parametrize("transfer", ["json", "csv"])
def test_first_run_exports_every_contact_updated_before_the_end_of_the_day(sandbox, extract_run, transfer):
    run = extract_run(sandbox, transfer=transfer)
    run.run(ExtractContacts(date=D))

    dataset = ("raw", "contacts", f"run_date={D}")
    expected = expected_rows(sandbox.dump("contacts"), CONTACTS, contract_statements(CONTACTS),
                             keep=lambda r: r["UpdatedAt"] < midnight(D + dt.timedelta(days=1)))
    assert 0 < len(expected) < len(sandbox.dump("contacts"))  # the cut at D+1 matters for this data
    assert by_key(run.table(*dataset).to_pylist(), "ContactId") == by_key(expected, "ContactId")
    manifest = run.manifest(*dataset)
    assert {k: manifest[k] for k in ("object", "mode", "since", "until", "base_snapshot", "rows")} == {
        "object": "contacts", "mode": "full", "since": None, "until": f"{D + dt.timedelta(days=1)} 00:00:00",
        "base_snapshot": None, "rows": len(expected)}
    assert manifest["sync_uri"] in {s["uri"] for s in export_syncs(sandbox)}
    assert (run.path(*dataset) / "_SUCCESS").exists()
    assert not list(run.path("raw", "contacts").glob("_tmp*")), "the staging folder was not cleaned up"
    assert not list(run.path("_state").rglob("*.json")), "the resume state outlived the success"


def test_raw_parquet_has_the_contract_types_with_utc_timestamps(sandbox, extract_run):
    run = extract_run(sandbox)
    run.run(ExtractContacts(date=D), ExtractActivities(activity_type="Bounceback", date=D),
            ExtractCustomObject(object_name="sfdc_campaigns", date=D))

    bounces = ("raw", "activities", "activity_type=Bounceback", f"activity_date={D}")
    for obj, dataset in ((CONTACTS, ("raw", "contacts", f"run_date={D}")), (ACTIVITIES, bounces),
                         (SFDC_CAMPAIGNS, ("raw", "sfdc_campaigns", f"run_date={D}"))):
        want = pa.schema([pa.field(c.name, CONTRACT_ARROW_TYPES[c.type]) for c in obj.columns])
        for part in run.path(*dataset).glob("part-*.parquet"):
            assert pq.read_schema(part).remove_metadata() == want, part


def test_increment_window_holds_its_first_instant_but_not_the_next_midnight(sandbox_factory, extract_run):
    sandbox = sandbox_factory(contacts=120, seed=11)
    borders = {  # contact id -> UpdatedAt as stored
        1: f"{D} 00:00:00.000",  # first instant of D: in
        2: f"{D + dt.timedelta(days=1)} 00:00:00.000",  # first instant of D+1: out
        3: f"{D - dt.timedelta(days=1)} 23:59:59.999",  # last instant of D-1: out
        4: f"{D} 23:59:59.999",  # last instant of D: in
    }
    with contextlib.closing(sqlite3.connect(sandbox.data_dir / "sandbox.sqlite", timeout=60)) as db, db:
        db.executemany("UPDATE contacts SET updated_at=? WHERE id=?", [(v, n) for n, v in borders.items()])
    run = extract_run(sandbox)
    run.fake_snapshot(D - dt.timedelta(days=1))
    run.run(ExtractContacts(date=D))

    dataset = ("raw", "contacts", f"run_date={D}")
    got = run.table(*dataset).to_pylist()
    ids = {r["ContactId"] for r in got}
    assert {"1", "4"} <= ids and not ids & {"2", "3"}
    expected = expected_rows(sandbox.dump("contacts"), CONTACTS, contract_statements(CONTACTS),
                             keep=lambda r: in_days(r["UpdatedAt"], D, D))
    assert by_key(got, "ContactId") == by_key(expected, "ContactId")
    manifest = run.manifest(*dataset)
    assert (manifest["mode"], manifest["since"], manifest["until"], manifest["base_snapshot"]) == (
        "increment", f"{D} 00:00:00", f"{D + dt.timedelta(days=1)} 00:00:00", f"{D - dt.timedelta(days=1)}")


def test_increment_after_missed_nights_starts_the_day_after_the_latest_snapshot(sandbox, extract_run):
    run = extract_run(sandbox)
    run.fake_snapshot(D - dt.timedelta(days=10))
    run.fake_snapshot(D - dt.timedelta(days=3))  # the latest earlier one
    run.fake_snapshot(D)  # the day itself and later days are not "earlier"
    run.run(ExtractContacts(date=D))

    expected = expected_rows(sandbox.dump("contacts"), CONTACTS, contract_statements(CONTACTS),
                             keep=lambda r: in_days(r["UpdatedAt"], D - dt.timedelta(days=2), D))
    dataset = ("raw", "contacts", f"run_date={D}")
    assert by_key(run.table(*dataset).to_pylist(), "ContactId") == by_key(expected, "ContactId")
    manifest = run.manifest(*dataset)
    assert (manifest["mode"], manifest["since"], manifest["base_snapshot"]) == (
        "increment", f"{D - dt.timedelta(days=2)} 00:00:00", f"{D - dt.timedelta(days=3)}")


def test_full_refresh_replaces_an_increment_with_every_contact(sandbox, extract_run):
    run = extract_run(sandbox)
    run.fake_snapshot(D - dt.timedelta(days=1))
    run.run(ExtractContacts(date=D))
    dataset = ("raw", "contacts", f"run_date={D}")
    increment_rows = run.manifest(*dataset)["rows"]

    assert not ExtractContacts(date=D, full_refresh=True).complete()
    run.run(ExtractContacts(date=D, full_refresh=True))

    expected = expected_rows(sandbox.dump("contacts"), CONTACTS, contract_statements(CONTACTS),
                             keep=lambda r: r["UpdatedAt"] < midnight(D + dt.timedelta(days=1)))
    assert len(expected) > increment_rows
    assert by_key(run.table(*dataset).to_pylist(), "ContactId") == by_key(expected, "ContactId")
    assert (run.manifest(*dataset)["mode"], run.manifest(*dataset)["base_snapshot"]) == ("full", None)
    assert ExtractContacts(date=D, full_refresh=True).complete()


# ---------------------------------------------------------------------------------------------- activities


@pytest.mark.parametrize("activity_type", ["Bounceback", "EmailOpen", "FormSubmit"])
def test_activities_of_one_type_and_day_match_the_sandbox(sandbox, extract_run, activity_type):
    run = extract_run(sandbox, page_size=7)
    run.run(ExtractActivities(activity_type=activity_type, date=D))

    dump = sandbox.dump(f"activities?type={activity_type}&day={D}")
    expected = expected_rows(dump, ACTIVITIES, contract_statements(ACTIVITIES))
    assert expected and all(in_days(r["ActivityDate"], D, D) for r in expected)
    if activity_type != "Bounceback":  # the Bounceback-only columns are null for every other type
        expected = [{**r, "SmtpErrorCode": None, "SmtpStatusCode": None} for r in expected]
    got = run.table("raw", "activities", f"activity_type={activity_type}", f"activity_date={D}").to_pylist()
    assert by_key(got, "ActivityId") == by_key(expected, "ActivityId")
    if activity_type == "Bounceback":
        assert any(r["SmtpErrorCode"] for r in got)


def test_activities_are_partitioned_by_type_and_day(sandbox, extract_run):
    run = extract_run(sandbox)
    days = [D - dt.timedelta(days=1), D]
    types = ("EmailClickthrough", "WebVisit")
    run.run(*(ExtractActivities(activity_type=t, date=d) for t in types for d in days))

    table = pads.dataset(run.path("raw", "activities"), format="parquet", partitioning="hive").to_table()
    for activity_type in ("EmailClickthrough", "WebVisit"):
        for day in days:
            part = [r for r in table.to_pylist()
                    if r["activity_type"] == activity_type and str(r["activity_date"]) == str(day)]
            assert part and all(r["ActivityType"] == activity_type for r in part)
            assert all(in_days(r["ActivityDate"], day, day) for r in part)
            assert len(part) == len(sandbox.dump(f"activities?type={activity_type}&day={day}"))


def test_lookback_fetches_only_the_days_missing_from_the_lake(sandbox, extract_run):
    run = extract_run(sandbox)
    lookback = ExtractActivityLookback(date=D, activity_type="WebVisit")
    first = D - dt.timedelta(days=LOOKBACK_DAYS - 1)
    assert list(lookback.requires()) == [  # an empty lake: the whole lookback D-89 .. D in one task
        ExtractActivityRange(activity_type="WebVisit", start=first, end=D)]
    days = [first + dt.timedelta(days=n) for n in range(LOOKBACK_DAYS)]
    missing = {D - dt.timedelta(days=89), D - dt.timedelta(days=40)}
    for day in set(days) - missing:  # a lake that already holds every other day
        folder = run.path("raw", "activities", "activity_type=WebVisit", f"activity_date={day}")
        folder.mkdir(parents=True)
        (folder / "_SUCCESS").write_text("")
    before = {s["uri"] for s in export_syncs(sandbox)}
    assert list(lookback.requires()) == [
        ExtractActivities(activity_type="WebVisit", date=d) for d in sorted(missing)]

    run.run(lookback)

    new = [s for s in export_syncs(sandbox) if s["uri"] not in before]
    assert len(new) == 2
    for day in missing:
        got = run.table("raw", "activities", "activity_type=WebVisit", f"activity_date={day}")
        assert got.num_rows == len(sandbox.dump(f"activities?type=WebVisit&day={day}")) > 0


def test_extract_all_asks_for_contacts_the_lookback_of_every_pipeline_type_and_both_custom_objects():
    tasks = list(ExtractAll(date=D).requires())
    activities = [t for t in tasks if isinstance(t, ExtractActivityLookback)]
    assert ExtractContacts(date=D) in tasks
    assert sorted(t.activity_type for t in activities) == sorted(
        ("EmailSend", "EmailOpen", "EmailClickthrough", "FormSubmit", "WebVisit", "Bounceback"))
    assert {t.object_name for t in tasks if isinstance(t, ExtractCustomObject)} == {
        "campaign_responses", "sfdc_campaigns"}
    assert ExtractContacts(date=D, full_refresh=True) in ExtractAll(date=D, full_refresh=True).requires()
    assert len(tasks) == 1 + 6 + 2


# ------------------------------------------------------------------------------------------ custom objects


def test_campaign_responses_export_the_responses_of_the_day(sandbox, extract_run):
    run = extract_run(sandbox, page_size=5)
    run.run(ExtractCustomObject(object_name="campaign_responses", date=D))

    dataset = ("raw", "campaign_responses", f"run_date={D}")
    manifest = run.manifest(*dataset)
    statements = sync_statements(sandbox, manifest["sync_uri"])
    expected = expected_rows(sandbox.dump("customObjects/41"), CAMPAIGN_RESPONSES, statements,
                             keep=lambda r: in_days(r["RespondedAt"], D, D))
    assert expected
    assert by_key(run.table(*dataset).to_pylist(), "ResponseId") == by_key(expected, "ResponseId")
    assert (manifest["mode"], manifest["window_column"], manifest["rows"]) == ("window", "RespondedAt",
                                                                              len(expected))


def test_salesforce_campaigns_are_exported_in_full(sandbox, extract_run):
    run = extract_run(sandbox)
    run.run(ExtractCustomObject(object_name="sfdc_campaigns", date=D))

    dataset = ("raw", "sfdc_campaigns", f"run_date={D}")
    manifest = run.manifest(*dataset)
    expected = expected_rows(sandbox.dump("customObjects/42"), SFDC_CAMPAIGNS,
                             sync_statements(sandbox, manifest["sync_uri"]))
    assert expected
    assert by_key(run.table(*dataset).to_pylist(), "CampaignId") == by_key(expected, "CampaignId")
    assert (manifest["mode"], manifest["filter"]) == ("full", None)


# ---------------------------------------------------------------------------------------------- S3 lake


def test_extract_into_an_s3_lake(sandbox, seaweed, monkeypatch):
    for name, value in seaweed.env({}).items():
        monkeypatch.setenv(name, value)
    for name in ("SCC_LAKE_URL", "ELOQUA_CLIENT_ID"):
        monkeypatch.delenv(name, raising=False)
    for name, value in eloqua_env(sandbox).items():
        monkeypatch.setenv(name, value)
    lake_url = seaweed.lake_url()
    with luigi_config({("lake", "url"): lake_url, ("extract", "page_size"): "60"}):
        result = luigi.build([ExtractContacts(date=D), ExtractActivities(activity_type="Bounceback", date=D)],
                             local_scheduler=True, detailed_summary=True, log_level="WARNING")
        assert result.status == LuigiStatusCode.SUCCESS, result.summary_text
        assert ExtractContacts(date=D).complete()

    lake = seaweed.lake(lake_url.rsplit("/", 1)[-1])
    filesystem, contacts = lake.fs_path(lake.layout.raw_contacts(D))
    got = pq.read_table(contacts, filesystem=filesystem).to_pylist()
    expected = expected_rows(sandbox.dump("contacts"), CONTACTS, contract_statements(CONTACTS),
                             keep=lambda r: r["UpdatedAt"] < midnight(D + dt.timedelta(days=1)))
    assert by_key(got, "ContactId") == by_key(expected, "ContactId")
    assert lake.read_json(lake.layout.raw_contacts(D) + "/_export.json")["rows"] == len(expected)
    _, bounces = lake.fs_path(lake.layout.raw_activities("Bounceback", D))
    dump = sandbox.dump(f"activities?type=Bounceback&day={D}")
    assert pq.read_table(bounces, filesystem=filesystem).num_rows == len(dump) > 0
    _, raw = lake.fs_path(lake.layout.join("raw"))
    keys = [i.path for i in filesystem.get_file_info(pafs.FileSelector(raw, recursive=True))]
    assert keys and not [k for k in keys if "_tmp" in k], "staging objects were left behind"


# ---------------------------------------------------------------------------------------------- failures


def test_unwritable_lake_fails_the_task_with_one_line_naming_the_lake(sandbox, tmp_path):
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("a file where the lake's parent folder should be")
    lake_url = f"file://{blocker}/lake"
    env = subprocess_env(sandbox, luigi_cfg(tmp_path / "luigi.cfg", lake_url))
    syncs_before = len(export_syncs(sandbox))

    done = run_luigi_cli(["ExtractContacts", "--date", str(D)], env)

    assert done.returncode == RETCODES["task_failed"], done.stderr[-3000:]
    lines = [line for line in done.stderr.splitlines() if f"cannot write to the lake {lake_url}" in line]
    assert lines, done.stderr[-3000:]
    assert len(export_syncs(sandbox)) == syncs_before, "no sync may start when the lake cannot be written"


@pytest.mark.parametrize(("date", "message"), [
    ("2026-02-30", "2026-02-30"),  # not a date
    ("yesterday", "yesterday"),  # not YYYY-MM-DD
])
def test_a_malformed_date_is_refused(sandbox, tmp_path, date, message):
    env = subprocess_env(sandbox, luigi_cfg(tmp_path / "luigi.cfg", f"file://{tmp_path}/lake"))
    done = run_luigi_cli(["ExtractContacts", "--date", date], env)
    assert done.returncode == RETCODES["unhandled_exception"]
    assert f"invalid date {message!r}: expected YYYY-MM-DD" in done.stderr.splitlines()[-1]
    assert not (tmp_path / "lake" / "raw").exists()


def test_a_day_that_is_not_over_is_refused(sandbox, tmp_path):
    today = dt.datetime.now(UTC).date()
    env = subprocess_env(sandbox, luigi_cfg(tmp_path / "luigi.cfg", f"file://{tmp_path}/lake"))
    done = run_luigi_cli(["ExtractActivities", "--activity-type", "EmailOpen", "--date", str(today)], env)
    assert done.returncode == RETCODES["task_failed"]
    assert f"data day {today} is not over" in done.stderr
    assert not (tmp_path / "lake" / "raw").exists()


def test_rejected_credentials_fail_with_one_line_and_never_show_the_password(sandbox, tmp_path):
    wrong = "wrong-password-5f3a9c"
    config = luigi_cfg(tmp_path / "luigi.cfg", f"file://{tmp_path}/lake")
    env = subprocess_env(sandbox, config, password=wrong)
    done = run_luigi_cli(["ExtractContacts", "--date", str(D)], env)
    assert done.returncode == RETCODES["task_failed"]
    lines = [line for line in done.stderr.splitlines() if "Eloqua rejected the credentials" in line]
    assert lines, done.stderr[-3000:]
    assert wrong not in done.stderr + done.stdout
    assert not (tmp_path / "lake" / "raw").exists()
