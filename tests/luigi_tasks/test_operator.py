"""The operator's commands: ``scc status`` and ``scc backfill`` (over a real luigid), ``scc report``, and the
one-line answers to bad dates, reversed ranges, unknown pipelines and a scheduler that is not there."""

from __future__ import annotations

import datetime as dt
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from contract.objects import CONTACTS, PAYLOADS, PIPELINES
from lake.paths import LakeLayout, local_path
from luigi_tasks.operator import DONE, FAILED, PENDING, days, status, status_exit_code
from tests.jobs.rawlake import write_dataset
from tests.support.procs import free_port

SCC = [sys.executable, "-m", "luigi_tasks.cli"]
D = dt.date(2026, 11, 26)


def _env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ELOQUA_", "SCC_", "LUIGI_CONFIG_PATH"))}
    return {**env, **extra}


def _scc(*args: str, env: dict[str, str] | None = None, timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*SCC, *args], env=env or _env(), capture_output=True, text=True, timeout=timeout)


def _one_line(result: subprocess.CompletedProcess[str]) -> str:
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, result.stderr
    return lines[0]


@pytest.mark.parametrize(("args", "says"), [
    (["status", "--date", "2026-11-31"], "invalid date '2026-11-31'"),
    (["report", "--date", "yesterday"], "invalid date 'yesterday'"),
    (["backfill", "--start", "2026-11-20", "--end", "2026-13-01"], "invalid date '2026-13-01'"),
    (["backfill", "--start", "2026-11-27", "--end", "2026-11-20"],
     "--end 2026-11-20 is before --start 2026-11-27: the range is reversed"),
    (["status", "--date", "2026-11-27", "--pipeline", "lead_scorin"], "invalid choice: 'lead_scorin'"),
    (["nightly", "--scheduler-url", "luigid:8082"], "scheduler URL 'luigid:8082' is not http(s)://host:port"),
    (["nightly", "--scheduler-url", "http://127.0.0.1:1", "--local-scheduler"], "exclude each other"),
])
def test_usage_mistakes_are_one_line_and_exit_2(args: list[str], says: str, tmp_path: Path) -> None:
    result = _scc(*args, "--lake", f"file://{tmp_path}/lake")
    assert result.returncode == 2, result.stderr
    assert says in _one_line(result)


def test_a_scheduler_that_does_not_answer_is_one_line(tmp_path: Path) -> None:
    url = f"http://127.0.0.1:{free_port()}"
    result = _scc("nightly", "--date", "2026-11-26", "--scheduler-url", url, "--lake", f"file://{tmp_path}/lake")
    assert result.returncode == 2
    assert _one_line(result).startswith(f"scc: no luigid answers at {url}: ")


def test_help_lists_every_command_with_an_example() -> None:
    result = _scc("--help")
    assert result.returncode == 0
    for command in ("sandbox", "extract", "nightly", "backfill", "status", "report", "demo"):
        assert f"\n  scc {command} " in result.stdout, command
    assert "--scheduler-url http://" in result.stdout and "--approve-initial-load" in result.stdout


def test_days_run_in_order_and_a_reversed_range_is_refused() -> None:
    assert days(D, D + dt.timedelta(days=2)) == [D, D + dt.timedelta(days=1), D + dt.timedelta(days=2)]
    assert days(D, D) == [D]
    with pytest.raises(ValueError, match="reversed"):
        days(D, D - dt.timedelta(days=1))


def test_backfill_stops_at_the_first_failed_night() -> None:
    from luigi_tasks.operator import backfill

    ran: list[dt.date] = []
    said: list[str] = []
    code = backfill(D, D + dt.timedelta(days=3), lambda day: ran.append(day) or (30 if len(ran) == 2 else 0),
                    say=said.append)
    assert code == 30
    assert ran == [D, D + dt.timedelta(days=1)]
    assert said[-1] == (f"backfill stopped at {D + dt.timedelta(days=1)} (exit 30); 2 later day(s) not run: "
                        "rerun the same range once it is fixed")


def test_status_reads_done_failed_and_pending_from_the_lake(tmp_path: Path) -> None:
    from lake.storage import open_lake

    lake = open_lake(f"file://{tmp_path}/lake")
    layout = lake.layout
    write_dataset(layout.raw_contacts(D), CONTACTS)
    write_dataset(layout.staged_contacts(D), CONTACTS)
    for pipeline in ("contact_washing", "lead_scoring"):
        write_dataset(layout.import_ready(pipeline, D), PAYLOADS[pipeline])
    # contact_washing: the gate passed and the load failed (a timing says so); lead_scoring: the gate failed
    lake.write_bytes(layout.quality("contact_washing", D) + "/_PASSED", b"")
    lake.write_json(layout.quality("lead_scoring", D) + "/result.json", {"success": False})
    lake.write_json(layout.run_task(D, "LoadPayload_x"), {
        "family": "LoadPayload", "params": {"pipeline": "contact_washing", "date": D.isoformat()},
        "status": "failed"})
    lake.write_json(layout.run_task(D, "LoadPayload_y"), {
        "family": "LoadPayload", "params": {"pipeline": "hard_bounces", "date": D.isoformat()}, "status": "done"})

    stages = {(s.pipeline, s.name): (s.state, s.url) for s in status(lake, D)}
    assert stages[("contact_washing", "extract contacts")] == (DONE, layout.raw_contacts(D))
    assert stages[("contact_washing", "snapshot")] == (DONE, layout.staged_contacts(D))
    assert stages[("contact_washing", "gate")] == (DONE, layout.quality("contact_washing", D))
    assert stages[("contact_washing", "load")] == (FAILED, layout.loaded_receipt("contact_washing", D))
    assert stages[("lead_scoring", "gate")][0] == FAILED
    assert stages[("lead_scoring", "extract EmailOpen")][0] == PENDING
    assert stages[("hard_bounces", "payload")][0] == PENDING
    assert stages[("hard_bounces", "load")][0] == PENDING  # its timing says done, yet there is no receipt
    assert len([s for s in stages if s[0] == "campaign_responses"]) == 7 + 4
    assert status_exit_code(status(lake, D)) == 5
    assert status_exit_code(status(lake, D, ["contact_washing"])) == 5

    result = _scc("status", "--date", D.isoformat(), "--pipeline", "lead_scoring", "--lake", layout.url)
    assert result.returncode == 5, result.stderr
    lines = result.stdout.splitlines()
    assert lines[:2] == [f"data day {D}", "lead_scoring"]
    assert lines[-2].split() == ["gate", FAILED, layout.quality("lead_scoring", D)]
    assert len(lines) == 2 + 1 + 4 + 4  # contacts, four scored activity types, snapshot, payload, gate, load


def _eloqua_env(sb) -> dict[str, str]:
    return {"ELOQUA_LOGIN_URL": sb.url, "ELOQUA_SITE": sb.site, "ELOQUA_USER": sb.user,
            "ELOQUA_PASSWORD": sb.password}


def _timings(layout: LakeLayout, day: dt.date) -> list[dict]:
    folder = Path(local_path(layout.run_tasks(day)))
    return [json.loads(p.read_text()) for p in sorted(folder.glob("*.json"))]


@pytest.mark.integration
@pytest.mark.slow
def test_backfill_runs_the_nights_in_order_through_luigid_and_status_reads_them(
        sandbox_factory, luigid, tmp_path: Path) -> None:
    first, second = D - dt.timedelta(days=1), D
    # The sandbox's clock starts at the end of the first day: the first night's loads land on the second day,
    # whose increment brings them back.
    sb = sandbox_factory(contacts=150, seed=11, as_of=second.isoformat(), sync_delay=0.05)
    layout = LakeLayout(f"file://{tmp_path / 'lake'}")
    env = _env(**_eloqua_env(sb))

    result = _scc("backfill", "--start", first.isoformat(), "--end", second.isoformat(), "--lake", layout.url,
                  "--scheduler-url", luigid.url, "--approve-initial-load", "--workers", "2", env=env, timeout=1500)

    assert result.returncode == 0, result.stderr[-3000:]
    assert [line for line in result.stdout.splitlines() if line.startswith(("backfill", "report"))] == [
        f"backfill: night 1/2, data day {first}", f"report: {layout.report(first)}",
        f"backfill: night 2/2, data day {second}", f"report: {layout.report(second)}"]
    # In order, each night completely before the next: every task of the first night ended before any task
    # of the second started, and the second night's contacts are the increment after the first's load.
    ends = [t["end"] for t in _timings(layout, first)]
    starts = [t["start"] for t in _timings(layout, second)]
    assert ends and starts and max(ends) < min(starts)
    assert json.loads(Path(local_path(layout.raw_contacts(second)), "_export.json").read_text())["mode"] == \
        "increment"
    receipts = {(p, d): json.loads(Path(local_path(layout.loaded_receipt(p, d))).read_text())
                for p in PIPELINES for d in (first, second)}
    assert {r["status"] for r in receipts.values()} <= {"success", "warning", "empty"}  # empty: nothing to send
    loads = [s for s in sb.state()["syncs"] if s["kind"] == "imports"]
    assert len(loads) == len([r for r in receipts.values() if r["status"] != "empty"])
    assert all(receipts[(p, first)]["status"] != "empty" for p in ("contact_washing", "lead_scoring"))

    done = _scc("status", "--date", second.isoformat(), "--lake", layout.url, env=env)
    assert done.returncode == 0, done.stdout
    rows = [line.split() for line in done.stdout.splitlines() if line.startswith("  ")]
    assert rows and {row[-2] for row in rows} == {DONE}
    later = _scc("status", "--date", (second + dt.timedelta(days=1)).isoformat(), "--lake", layout.url, env=env)
    assert later.returncode == 4
    assert {line.split()[-2] for line in later.stdout.splitlines() if line.startswith("  ")} == {PENDING}

    # The same range again through the same luigid: every night is complete, nothing reaches Eloqua.
    syncs = len(sb.state()["syncs"])
    again = _scc("backfill", "--start", first.isoformat(), "--end", second.isoformat(), "--lake", layout.url,
                 "--scheduler-url", luigid.url, env=env, timeout=600)
    assert again.returncode == 0, again.stderr[-3000:]
    assert len(sb.state()["syncs"]) == syncs

    report = _scc("report", "--date", second.isoformat(), "--lake", layout.url, env=env)
    assert (report.returncode, report.stdout.strip()) == (0, layout.report(second))
