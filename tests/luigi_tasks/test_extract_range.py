"""Activity ranges against the sandbox: one sync per run of missing days, split into the day partitions that
``ExtractActivities`` publishes (same rows, same schema, same manifest keys), halved when a sync is too large.

Expected rows come from the sandbox's own store (``/sandbox/dump``), converted independently of the code
under test (helpers of ``test_extract``).
"""

from __future__ import annotations

import datetime as dt
import json
import math
import subprocess
import sys
from pathlib import Path
from typing import Any

import luigi
import pyarrow as pa
import pyarrow.fs as pafs
import pyarrow.parquet as pq
import pytest
from luigi.execution_summary import LuigiStatusCode

from contract.calendar import days_between
from contract.objects import ACTIVITIES
from contract.settings import LOOKBACK_DAYS
from eloqua.windows import activity_filter, contiguous_runs, halves
from lake.storage import Lake
from luigi_tasks.extract import ExtractActivities, ExtractActivityLookback, ExtractActivityRange
from tests.fixtures.sandbox import SandboxHandle
from tests.luigi_tasks.test_extract import (
    CONTRACT_ARROW_TYPES,
    REPO,
    RETCODES,
    by_key,
    contract_statements,
    eloqua_env,
    expected_rows,
    export_syncs,
    luigi_cfg,
    luigi_config,
    run_luigi_cli,
    subprocess_env,
)
from tests.luigi_tasks.test_extract import extract_run as extract_run_fixture
from tests.luigi_tasks.test_extract_resume import kill, wait_for

integration = pytest.mark.integration
extract_run = extract_run_fixture  # the fixture of test_extract, shared

D = dt.date(2026, 11, 20)  # the session sandbox is as of 2026-11-27
FIRST = D - dt.timedelta(days=LOOKBACK_DAYS - 1)
DAY = dt.timedelta(days=1)
CONTRACT_SCHEMA = pa.schema([pa.field(c.name, CONTRACT_ARROW_TYPES[c.type]) for c in ACTIVITIES.columns])
# the keys ExtractActivities writes into a day's manifest; a day split out of a range has them all
SINGLE_DAY_MANIFEST_KEYS = {"format", "object", "task", "mode", "window_column", "since", "until",
                            "base_snapshot", "filter", "activity_type", "activity_date", "rows",
                            "definition_uri", "sync_uri", "exported_at"}


# ---------------------------------------------------------------------------------------------- helpers


def day_folder(root: Path, activity_type: str, day: dt.date) -> Path:
    return root / "raw" / "activities" / f"activity_type={activity_type}" / f"activity_date={day}"


def expected_day(sandbox: SandboxHandle, activity_type: str, day: dt.date) -> list[dict[str, Any]]:
    """The sandbox's activities of one type and day as raw Parquet rows."""
    rows = expected_rows(sandbox.dump(f"activities?type={activity_type}&day={day}"), ACTIVITIES,
                         contract_statements(ACTIVITIES))
    if activity_type != "Bounceback":  # the Bounceback-only columns are null for every other type
        rows = [{**r, "SmtpErrorCode": None, "SmtpStatusCode": None} for r in rows]
    return rows


def assert_day_matches(root: Path, sandbox: SandboxHandle, activity_type: str,
                       day: dt.date) -> dict[str, Any]:
    """The day's partition is published, holds exactly the sandbox's rows and the contract schema; returns
    its manifest."""
    folder = day_folder(root, activity_type, day)
    assert (folder / "_SUCCESS").exists(), folder
    parts = sorted(folder.glob("part-*.parquet"))
    assert parts, folder
    for part in parts:
        assert pq.read_schema(part).remove_metadata() == CONTRACT_SCHEMA, part
    got = pq.read_table(folder).to_pylist()
    assert by_key(got, "ActivityId") == by_key(expected_day(sandbox, activity_type, day), "ActivityId"), day
    manifest = json.loads((folder / "_export.json").read_text())
    assert manifest["rows"] == len(got)
    return manifest


def assert_clean(root: Path) -> None:
    assert not list((root / "raw").rglob("_tmp*")), "a staging folder was left behind"
    assert not list(root.glob("_state/**/*.json")), "a resume state outlived the success"


def new_syncs(sandbox: SandboxHandle, before: set[str]) -> list[dict[str, Any]]:
    return [s for s in export_syncs(sandbox) if s["uri"] not in before]


def windows(syncs: list[dict[str, Any]]) -> list[str]:
    """The filters of ``syncs``, sorted."""
    return sorted(s["definition"]["filter"] for s in syncs)


def window(activity_type: str, first: dt.date, last: dt.date) -> str:
    """The filter of one sync over ``first .. last``."""
    return activity_filter(activity_type, first, last + DAY)


def fake_day(root: Path, activity_type: str, day: dt.date) -> Path:
    """A complete day partition that is not the sandbox's (a sentinel file, no Parquet)."""
    folder = day_folder(root, activity_type, day)
    folder.mkdir(parents=True)
    (folder / "sentinel.txt").write_text("present before the run")
    (folder / "_SUCCESS").write_text("")
    return folder


def snapshot(folder: Path) -> dict[str, tuple[int, bytes]]:
    """Every file of a folder with its mtime (ns) and content."""
    return {p.name: (p.stat().st_mtime_ns, p.read_bytes()) for p in sorted(folder.iterdir())}


# ---------------------------------------------------------------------------------------------- planning


@pytest.mark.parametrize(("days", "runs"), [
    ([], []),
    ([D], [(D, D)]),
    ([D, D - DAY, D - 2 * DAY], [(D - 2 * DAY, D)]),  # any order
    ([D - 5 * DAY, D - 4 * DAY, D - DAY, D, D], [(D - 5 * DAY, D - 4 * DAY), (D - DAY, D)]),  # gap, duplicate
])
def test_contiguous_runs_of_days(days, runs):
    assert contiguous_runs(days) == runs


@pytest.mark.parametrize(("length", "first_half"), [(2, 1), (3, 1), (90, 45), (91, 45)])
def test_halves_cover_the_range_without_overlap(length, first_half):
    end = FIRST + (length - 1) * DAY
    (a, b), (c, e) = halves(FIRST, end)
    assert (a, e, c - b) == (FIRST, end, DAY)
    assert len(days_between(a, b)) == first_half


def test_a_range_that_ends_before_it_starts_is_refused():
    with pytest.raises(ValueError, match="end 2026-11-19 is before start 2026-11-20: pass start <= end"):
        ExtractActivityRange(activity_type="EmailOpen", start=D, end=D - DAY)


# ---------------------------------------------------------------------------------------------- lookback


@integration
def test_a_lookback_into_an_empty_lake_uses_one_sync_per_type(sandbox, extract_run):
    run = extract_run(sandbox, page_size=200)
    types = ("EmailOpen", "Bounceback")
    lookbacks = [ExtractActivityLookback(date=D, activity_type=t) for t in types]
    for lookback in lookbacks:
        assert list(lookback.requires()) == [
            ExtractActivityRange(activity_type=lookback.activity_type, start=FIRST, end=D)]
    before = {s["uri"] for s in export_syncs(sandbox)}

    run.run(*lookbacks)

    syncs = new_syncs(sandbox, before)
    assert windows(syncs) == sorted(window(t, FIRST, D) for t in types)
    for activity_type in types:
        sync = next(s for s in syncs if f"= '{activity_type}'" in s["definition"]["filter"])
        total = 0
        for day in days_between(FIRST, D):
            manifest = assert_day_matches(run.root, sandbox, activity_type, day)
            assert SINGLE_DAY_MANIFEST_KEYS <= set(manifest)
            assert {k: manifest[k] for k in ("mode", "window_column", "since", "until", "activity_type",
                                             "activity_date", "sync_uri", "sync_since", "sync_until")} == {
                "mode": "window", "window_column": "ActivityDate", "since": f"{day} 00:00:00",
                "until": f"{day + DAY} 00:00:00", "activity_type": activity_type, "activity_date": str(day),
                "sync_uri": sync["uri"], "sync_since": f"{FIRST} 00:00:00",
                "sync_until": f"{D + DAY} 00:00:00"}
            total += manifest["rows"]
        assert total == sync["rows"] > 0
    assert_clean(run.root)
    assert all(lookback.complete() and not list(lookback.requires()) for lookback in lookbacks)


@integration
def test_gaps_in_the_lookback_are_fetched_as_one_task_per_run_of_missing_days(sandbox, extract_run):
    run = extract_run(sandbox)
    activity_type = "WebVisit"
    runs = [(FIRST, FIRST + 9 * DAY), (D - 50 * DAY, D - 50 * DAY), (D - 3 * DAY, D)]
    missing = {d for a, b in runs for d in days_between(a, b)}
    present = {d: fake_day(run.root, activity_type, d) for d in days_between(FIRST, D) if d not in missing}
    before_files = {d: snapshot(folder) for d, folder in present.items()}
    lookback = ExtractActivityLookback(date=D, activity_type=activity_type)
    assert list(lookback.requires()) == [
        ExtractActivityRange(activity_type=activity_type, start=runs[0][0], end=runs[0][1]),
        ExtractActivities(activity_type=activity_type, date=runs[1][0]),
        ExtractActivityRange(activity_type=activity_type, start=runs[2][0], end=runs[2][1])]
    before = {s["uri"] for s in export_syncs(sandbox)}

    run.run(lookback)

    assert windows(new_syncs(sandbox, before)) == sorted(window(activity_type, a, b) for a, b in runs)
    for day in sorted(missing):
        assert_day_matches(run.root, sandbox, activity_type, day)
    assert {d: snapshot(folder) for d, folder in present.items()} == before_files, "a present day was touched"
    assert_clean(run.root)


@integration
def test_a_range_never_rewrites_a_day_already_in_the_lake(sandbox, extract_run):
    run = extract_run(sandbox)
    activity_type = "EmailClickthrough"
    first, last, kept = D - 4 * DAY, D, D - 2 * DAY
    run.run(ExtractActivities(activity_type=activity_type, date=kept))  # a real day, from its own sync
    kept_folder = day_folder(run.root, activity_type, kept)
    kept_files = snapshot(kept_folder)
    kept_sync = json.loads((kept_folder / "_export.json").read_text())["sync_uri"]
    before = {s["uri"] for s in export_syncs(sandbox)}

    run.run(ExtractActivityRange(activity_type=activity_type, start=first, end=last))

    (sync,) = new_syncs(sandbox, before)
    assert sync["definition"]["filter"] == window(activity_type, first, last)  # the sync covers the kept day
    assert snapshot(kept_folder) == kept_files, "the day already in the lake was rewritten"
    assert json.loads((kept_folder / "_export.json").read_text())["sync_uri"] == kept_sync
    written = 0
    for day in days_between(first, last):
        manifest = assert_day_matches(run.root, sandbox, activity_type, day)
        if day != kept:
            assert manifest["sync_uri"] == sync["uri"]
            written += manifest["rows"]
    assert 0 < written < sync["rows"]
    assert_clean(run.root)


@integration
def test_a_day_without_activities_is_published_empty(sandbox, extract_run):
    run = extract_run(sandbox)
    # the sandbox has activities for as_of-120 .. as_of-1 only: 2026-11-27 has none
    first, last = D + 6 * DAY, D + 7 * DAY
    run.run(ExtractActivityRange(activity_type="FormSubmit", start=first, end=last))

    empty = day_folder(run.root, "FormSubmit", last)
    assert (empty / "_SUCCESS").exists()
    assert pq.read_table(empty).num_rows == 0
    assert json.loads((empty / "_export.json").read_text())["rows"] == 0
    for part in empty.glob("part-*.parquet"):
        assert pq.read_schema(part).remove_metadata() == CONTRACT_SCHEMA
    assert_day_matches(run.root, sandbox, "FormSubmit", first)


# ---------------------------------------------------------------------------------------------- the 5M cap


def planned_syncs(counts: dict[dt.date, int], cap: int, first: dt.date, last: dt.date) -> list[tuple]:
    """The syncs halving makes: a range whose rows reach ``cap`` is synced, dropped and halved."""
    syncs = [(first, last)]
    if first < last and sum(counts[d] for d in days_between(first, last)) >= cap:
        for a, b in halves(first, last):
            syncs += planned_syncs(counts, cap, a, b)
    return syncs


@integration
@pytest.mark.slow
def test_a_sync_at_the_row_cap_is_dropped_and_its_range_halved(sandbox_factory, extract_run):
    activity_type, first, last = "EmailSend", D - 7 * DAY, D
    probe = sandbox_factory(contacts=400, seed=7)  # the same data, uncapped, to learn the day sizes
    counts = {d: len(probe.dump(f"activities?type={activity_type}&day={d}"))
              for d in days_between(first, last)}
    probe.stop()
    cap = max(counts.values()) + 1  # every single day fits, the whole range does not
    plan = planned_syncs(counts, cap, first, last)
    assert len(plan) > 3 and any(a == b for a, b in plan), plan  # halved more than once, down to single days
    # Eloqua truncates an activity export at its cap; so does the sandbox
    sandbox = sandbox_factory(contacts=400, seed=7, env={"SCC_SANDBOX_ACTIVITY_EXPORT_CAP": str(cap)})
    run = extract_run(sandbox, page_size=30)

    with luigi_config({("extract", "max_rows_per_sync"): str(cap)}):
        run.run(ExtractActivityRange(activity_type=activity_type, start=first, end=last))

    syncs = export_syncs(sandbox)
    assert windows(syncs) == sorted(window(activity_type, a, b) for a, b in plan)
    dropped = [s for s in syncs if s["rows"] >= cap]
    assert len(dropped) == len([p for p in plan if p[0] < p[1] and sum(
        counts[d] for d in days_between(*p)) >= cap])
    for day in days_between(first, last):
        manifest = assert_day_matches(run.root, sandbox, activity_type, day)
        assert manifest["sync_uri"] not in {s["uri"] for s in dropped}
    assert_clean(run.root)


@integration
def test_a_single_day_at_the_row_cap_fails_with_one_line(sandbox, tmp_path):
    activity_type, small, large = "FormSubmit", D - DAY, D
    counts = {d: len(sandbox.dump(f"activities?type={activity_type}&day={d}")) for d in (small, large)}
    assert counts[small] < counts[large]
    cap = counts[large]  # the range is halved; one of its days fits, the other reaches the cap
    lake = tmp_path / "lake"
    config = luigi_cfg(tmp_path / "luigi.cfg", f"file://{lake}")
    config.write_text(config.read_text().replace("[extract]\n", f"[extract]\nmax_rows_per_sync = {cap}\n"))
    env = subprocess_env(sandbox, config)
    before = {s["uri"] for s in export_syncs(sandbox)}

    done = run_luigi_cli(["ExtractActivityRange", "--activity-type", activity_type, "--start", str(small),
                          "--end", str(large)], env)

    assert done.returncode == RETCODES["task_failed"], done.stderr[-3000:]
    lines = [line for line in done.stderr.splitlines()
             if "ExportTooLarge" in line and "one data day cannot be split further" in line]
    assert lines, done.stderr[-3000:]
    assert f"holds {cap} rows, at least [extract] max_rows_per_sync = {cap}" in lines[0]
    assert f"ExtractActivities(activity_type={activity_type}, date={large})" in lines[0]
    assert windows(new_syncs(sandbox, before)) == sorted(
        window(activity_type, a, b) for a, b in ((small, large), (small, small), (large, large)))
    assert_day_matches(lake, sandbox, activity_type, small)
    assert not day_folder(lake, activity_type, large).exists()
    states = [p.name for p in lake.glob("_state/extract/*/*.json")]
    # the range waits for its halves; the failed day keeps nothing, so a rerun starts a new sync for it
    assert states == [f"activity_type={activity_type},start={small},end={large}.json"], states


# ---------------------------------------------------------------------------------------------- resume

PAGE = 40
STALL_AFTER = 6  # /data requests that succeed before the stall: the size probe and 5 pages
DATA_ROUTE = "GET /syncs/{id}/data"


def data_pages_served(sandbox: SandboxHandle) -> int:
    return int(sandbox.state()["requests"].get(DATA_ROUTE, {}).get("200", 0))


@integration
@pytest.mark.slow
def test_a_killed_range_continues_its_sync_and_fetches_only_missing_pages(sandbox_factory, tmp_path):
    activity_type, first, last = "EmailSend", D - 9 * DAY, D
    sandbox = sandbox_factory(contacts=400, seed=5)
    sandbox.set_faults({"faults": [{"kind": "status", "route": "GET /syncs/*/data", "status": 503,
                                    "count": None, "after": STALL_AFTER}]})
    lake = tmp_path / "lake"
    env = subprocess_env(sandbox, luigi_cfg(tmp_path / "luigi.cfg", f"file://{lake}", page_size=PAGE))
    argv = ["ExtractActivityRange", "--activity-type", activity_type,
            "--start", str(first), "--end", str(last)]
    log = tmp_path / "first-run.log"
    with log.open("wb") as out:
        luigi_bin = str(Path(sys.executable).with_name("luigi"))
        proc = subprocess.Popen([luigi_bin, "--module", "luigi_tasks.extract", *argv, "--local-scheduler"],
                                env=env, cwd=REPO, stdout=out, stderr=subprocess.STDOUT)

    def pages() -> list[Path]:
        return sorted(lake.glob(f"raw/activities/activity_type={activity_type}/_tmp*/pages/part-*.parquet"))

    try:
        wait_for(lambda: len(pages()) == STALL_AFTER - 1, "5 part files", proc, log)
    finally:
        kill(proc)
    (state_file,) = lake.glob("_state/extract/ExtractActivityRange/*.json")
    state = json.loads(state_file.read_text())
    kept = {p.name for p in pages()}
    assert not list(lake.glob("raw/activities/*/activity_date=*")), "a killed range published a day"
    sandbox.clear_faults()

    done = run_luigi_cli(argv, env)

    assert done.returncode == 0, done.stderr[-3000:]
    assert [s["uri"] for s in export_syncs(sandbox)] == [state["sync_uri"]], "the rerun started another sync"
    rows = sum(assert_day_matches(lake, sandbox, activity_type, d)["rows"]
               for d in days_between(first, last))
    assert len(kept) == STALL_AFTER - 1 < math.ceil(rows / PAGE)
    # every page served exactly once, plus one size probe per run: nothing fetched twice
    assert data_pages_served(sandbox) == math.ceil(rows / PAGE) + 2
    assert_clean(lake)


@integration
def test_a_range_killed_while_publishing_its_days_publishes_the_rest_without_a_new_sync(
        sandbox, extract_run, monkeypatch):
    run = extract_run(sandbox, page_size=25)
    activity_type, first, last = "EmailOpen", D - 5 * DAY, D
    task = ExtractActivityRange(activity_type=activity_type, start=first, end=last)
    real_publish = Lake.publish
    published: list[str] = []

    def publish_then_die(self: Lake, staging: str, url: str) -> None:
        if len(published) == 3:  # the process dies between the third and the fourth day
            raise KeyboardInterrupt
        real_publish(self, staging, url)
        published.append(url)

    monkeypatch.setattr(Lake, "publish", publish_then_die)
    before = {s["uri"] for s in export_syncs(sandbox)}
    with pytest.raises(KeyboardInterrupt):
        luigi.build([task], local_scheduler=True, log_level="WARNING")
    monkeypatch.setattr(Lake, "publish", real_publish)
    done_days = days_between(first, first + 2 * DAY)
    published_days = [d for d in days_between(first, last)
                      if (day_folder(run.root, activity_type, d) / "_SUCCESS").exists()]
    assert published_days == done_days
    (state_file,) = run.root.glob("_state/extract/ExtractActivityRange/*.json")
    assert json.loads(state_file.read_text())["phase"] == "publishing"
    kept = {d: snapshot(day_folder(run.root, activity_type, d)) for d in done_days}
    served = data_pages_served(sandbox)

    result = luigi.build([task], local_scheduler=True, detailed_summary=True, log_level="WARNING")

    assert result.status == LuigiStatusCode.SUCCESS, result.summary_text
    (sync,) = new_syncs(sandbox, before)
    assert data_pages_served(sandbox) == served, "the rerun fetched pages again"
    assert {d: snapshot(day_folder(run.root, activity_type, d)) for d in done_days} == kept
    for day in days_between(first, last):
        assert assert_day_matches(run.root, sandbox, activity_type, day)["sync_uri"] == sync["uri"]
    assert_clean(run.root)


# ---------------------------------------------------------------------------------------------- S3 lake


@integration
def test_a_range_into_an_s3_lake(sandbox, seaweed, monkeypatch):
    for name, value in {**seaweed.env({}), **eloqua_env(sandbox)}.items():
        monkeypatch.setenv(name, value)
    for name in ("SCC_LAKE_URL", "ELOQUA_CLIENT_ID"):
        monkeypatch.delenv(name, raising=False)
    lake_url = seaweed.lake_url()
    activity_type, first, last = "Bounceback", D - 3 * DAY, D
    with luigi_config({("lake", "url"): lake_url, ("extract", "page_size"): "7"}):
        result = luigi.build([ExtractActivityRange(activity_type=activity_type, start=first, end=last)],
                             local_scheduler=True, detailed_summary=True, log_level="WARNING")
    assert result.status == LuigiStatusCode.SUCCESS, result.summary_text

    lake = seaweed.lake(lake_url.rsplit("/", 1)[-1])
    for day in days_between(first, last):
        filesystem, path = lake.fs_path(lake.layout.raw_activities(activity_type, day))
        got = pq.read_table(path, filesystem=filesystem).to_pylist()
        assert by_key(got, "ActivityId") == by_key(expected_day(sandbox, activity_type, day), "ActivityId")
        assert lake.is_complete(lake.layout.raw_activities(activity_type, day))
    filesystem, root = lake.fs_path(lake.url)
    keys = [i.path for i in filesystem.get_file_info(pafs.FileSelector(root, recursive=True))]
    assert not [k for k in keys if "_tmp" in k or (k.endswith(".json") and "/_state/" in k)], keys
