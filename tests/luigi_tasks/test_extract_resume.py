"""A killed extract resumes: ``luigi ... ExtractContacts`` is SIGKILLed mid-export and run again.

The sandbox stalls ``/syncs/{id}/data`` after a few pages (every further page answers 503, which the client
keeps retrying), so the kill lands at a known point: some part files written, the rest not.
"""

from __future__ import annotations

import datetime as dt
import json
import math
import os
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pyarrow.parquet as pq
import pytest

from contract.objects import CONTACTS
from tests.fixtures.sandbox import SandboxHandle
from tests.luigi_tasks.test_extract import (
    REPO,
    by_key,
    contract_statements,
    expected_rows,
    export_syncs,
    in_days,
    luigi_cfg,
    run_luigi_cli,
    subprocess_env,
)

pytestmark = [pytest.mark.integration, pytest.mark.slow]

D = dt.date(2026, 11, 20)
PAGE = 40
STALL_AFTER = 6  # /data requests that succeed before the stall: the size probe and 5 pages
DATA_ROUTE = "GET /syncs/{id}/data"
STATE = f"_state/extract/ExtractContacts/date={D},full_refresh=False.json"


def start_extract(env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    luigi_bin = str(Path(sys.executable).with_name("luigi"))
    with log.open("wb") as out:
        argv = [luigi_bin, "--module", "luigi_tasks.extract", "ExtractContacts", "--date", str(D),
                "--local-scheduler"]
        return subprocess.Popen(argv, env=env, cwd=REPO, stdout=out, stderr=subprocess.STDOUT)


def wait_for(condition: Any, what: str, proc: subprocess.Popen, log: Path, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if proc.poll() is not None:
            pytest.fail(f"the extract exited ({proc.returncode}) before {what}: {log.read_text()[-3000:]}")
        if time.monotonic() > deadline:
            pytest.fail(f"timed out waiting for {what}: {log.read_text()[-3000:]}")
        time.sleep(0.1)


def staged_parts(lake: Path) -> list[Path]:
    return sorted(lake.glob("raw/contacts/_tmp*/part-*.parquet"))


def kill(proc: subprocess.Popen[bytes]) -> None:
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait(timeout=30)
    assert proc.returncode == -signal.SIGKILL


def data_pages_served(sandbox: SandboxHandle) -> int:
    return int(sandbox.state()["requests"].get(DATA_ROUTE, {}).get("200", 0))


def expected_contacts(sandbox: SandboxHandle) -> list[dict[str, Any]]:
    return expected_rows(sandbox.dump("contacts"), CONTACTS, contract_statements(CONTACTS),
                         keep=lambda r: in_days(r["UpdatedAt"], dt.date(1900, 1, 1), D))


def assert_exact_rows(lake: Path, sandbox: SandboxHandle) -> list[dict[str, Any]]:
    dataset = lake / "raw" / "contacts" / f"run_date={D}"
    assert (dataset / "_SUCCESS").exists()
    got = pq.read_table(dataset).to_pylist()
    assert len({r["ContactId"] for r in got}) == len(got), "a contact was written twice"
    assert by_key(got, "ContactId") == by_key(expected_contacts(sandbox), "ContactId")
    assert not list(lake.glob("raw/contacts/_tmp*")), "a staging folder was left behind"
    assert not (lake / STATE).exists()
    return got


@pytest.fixture
def stalled(sandbox_factory, tmp_path):
    """A sandbox whose /data stalls after 5 pages, and an extract killed once those 5 part files exist."""
    sandbox = sandbox_factory(contacts=700, seed=5)
    stall = {"kind": "status", "route": "GET /syncs/*/data", "status": 503, "count": None,
             "after": STALL_AFTER}
    sandbox.set_faults({"faults": [stall]})
    lake = tmp_path / "lake"
    env = subprocess_env(sandbox, luigi_cfg(tmp_path / "luigi.cfg", f"file://{lake}", page_size=PAGE))
    log = tmp_path / "first-run.log"
    proc = start_extract(env, log)
    try:
        wait_for(lambda: len(staged_parts(lake)) == STALL_AFTER - 1, "5 part files", proc, log)
        state = json.loads((lake / STATE).read_text())
    finally:
        kill(proc)
    assert not (lake / "raw" / "contacts" / f"run_date={D}").exists(), "a killed extract published its output"
    sandbox.clear_faults()
    return sandbox, lake, env, state, tmp_path


def test_a_killed_extract_continues_the_same_sync_and_fetches_only_missing_pages(stalled):
    sandbox, lake, env, state, _ = stalled
    kept = {p.name for p in staged_parts(lake)}

    done = run_luigi_cli(["ExtractContacts", "--date", str(D)], env)

    assert done.returncode == 0, done.stderr[-3000:]
    got = assert_exact_rows(lake, sandbox)
    syncs = export_syncs(sandbox)
    assert [s["uri"] for s in syncs] == [state["sync_uri"]], "the rerun started another sync"
    manifest = json.loads((lake / "raw" / "contacts" / f"run_date={D}" / "_export.json").read_text())
    assert (manifest["sync_uri"], manifest["rows"]) == (state["sync_uri"], len(got))
    pages = math.ceil(len(got) / PAGE)
    assert len(kept) == STALL_AFTER - 1 < pages
    # every page served exactly once, plus one size probe per run: nothing fetched twice
    assert data_pages_served(sandbox) == pages + 2
    assert kept <= {p.name for p in (lake / "raw" / "contacts" / f"run_date={D}").glob("part-*.parquet")}


def test_a_killed_extract_whose_sync_expired_starts_a_new_sync_from_an_empty_staging_folder(stalled):
    sandbox, lake, env, state, _ = stalled
    sandbox.set_faults({"faults": [{"kind": "expire_data", "match": state["sync_uri"], "count": 1}]})

    done = run_luigi_cli(["ExtractContacts", "--date", str(D)], env)

    assert done.returncode == 0, done.stderr[-3000:]
    assert_exact_rows(lake, sandbox)
    syncs = [s["uri"] for s in export_syncs(sandbox)]
    assert len(syncs) == 2 and syncs[0] == state["sync_uri"]
    manifest = json.loads((lake / "raw" / "contacts" / f"run_date={D}" / "_export.json").read_text())
    assert manifest["sync_uri"] == syncs[1]


def test_an_extract_killed_while_its_sync_is_pending_waits_for_that_sync(sandbox_factory, tmp_path):
    sandbox = sandbox_factory(contacts=200, seed=6)
    sandbox.set_faults({"faults": [{"kind": "slow_pending", "match": "*", "seconds": 4, "count": 1}]})
    lake = tmp_path / "lake"
    env = subprocess_env(sandbox, luigi_cfg(tmp_path / "luigi.cfg", f"file://{lake}", page_size=PAGE))
    log = tmp_path / "first-run.log"
    proc = start_extract(env, log)
    try:
        wait_for(lambda: (lake / STATE).exists() and "sync_uri" in json.loads((lake / STATE).read_text()),
                 "the sync to be recorded", proc, log)
        state = json.loads((lake / STATE).read_text())
    finally:
        kill(proc)
    assert not staged_parts(lake)

    done = run_luigi_cli(["ExtractContacts", "--date", str(D)], env)

    assert done.returncode == 0, done.stderr[-3000:]
    assert_exact_rows(lake, sandbox)
    assert [s["uri"] for s in export_syncs(sandbox)] == [state["sync_uri"]]
