"""Findings 2, 3 and 6 of issue 13 end to end through ``scc extract``: an S3 outage and a login host that never
answers each end the run in one line and a non-zero exit within a bounded time, no traceback; after an outage
the rerun gives the same lake as an uninterrupted run.

The outage stops a private SeaweedFS started for these tests (never the session's shared one) and restarts it
on the same ports and data.
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from tests.fixtures.seaweed import Seaweed, _start, _stop, _wait_ready
from tests.luigi_tasks.test_extract import RETCODES, by_key, eloqua_env
from tests.luigi_tasks.test_extract_resume import D, expected_contacts

pytestmark = [pytest.mark.integration, pytest.mark.slow]

SCC = [sys.executable, "-m", "luigi_tasks.cli"]
REPO = Path(__file__).resolve().parents[2]


class PrivateSeaweed:
    """A SeaweedFS of one test that the test may stop and start again (same ports, same data)."""

    def __init__(self, tmp: Path) -> None:
        self.process, self.handle = _start(tmp)
        _wait_ready(self.process, self.handle)
        self.command, self.cwd = list(self.process.args), tmp  # type: ignore[arg-type]

    def stop(self) -> None:
        _stop(self.process)

    def restart(self) -> None:
        with open(self.handle.log_path, "ab") as log:
            self.process = subprocess.Popen(self.command, cwd=self.cwd, env=self.handle.env(), stdout=log,
                                            stderr=subprocess.STDOUT)
        _wait_ready(self.process, self.handle)


@pytest.fixture
def private_seaweed(tmp_path: Path) -> Iterator[PrivateSeaweed]:
    store = PrivateSeaweed(tmp_path / "weed")
    try:
        yield store
    finally:
        store.stop()


def scc(args: list[str], env: dict[str, str], config: Path, timeout: float = 240) -> subprocess.CompletedProcess:
    env = {**{k: v for k, v in env.items() if not k.startswith(("SCC_LAKE", "LUIGI_CONFIG"))},
           "LUIGI_CONFIG_PATH": str(config), "PYTHONPATH": str(REPO)}
    return subprocess.run([*SCC, *args, "--local-scheduler"], env=env, cwd=REPO, capture_output=True, text=True,
                          timeout=timeout)


def config(tmp_path: Path) -> Path:
    path = tmp_path / "luigi.cfg"
    retcodes = "\n".join(f"{k} = {v}" for k, v in RETCODES.items())
    path.write_text(f"[extract]\npage_size = 40\nconcurrency = 2\n\n[retcode]\n{retcodes}\n\n"
                    "[resources]\neloqua_bulk_syncs = 2\n")
    return path


def one_line_failure(result: subprocess.CompletedProcess) -> str:
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert result.returncode != 0, result.stderr[-3000:]
    assert "Traceback" not in result.stderr and len(lines) == 1, result.stderr[-3000:]
    return lines[0]


def contacts_of(store: Seaweed, lake_url: str) -> list[dict]:
    lake = store.lake(lake_url.split("/", 3)[3])
    filesystem, path = lake.fs_path(f"{lake_url}/raw/contacts/run_date={D}")
    assert lake.is_complete(f"{lake_url}/raw/contacts/run_date={D}")
    return pq.read_table(path, filesystem=filesystem).to_pylist()


def test_an_s3_outage_before_the_sync_is_one_line_and_the_rerun_is_exact(private_seaweed, sandbox_factory,
                                                                       tmp_path):
    sandbox = sandbox_factory(contacts=160, seed=21)
    store = private_seaweed.handle
    env = store.env({**os.environ, **eloqua_env(sandbox)})
    lake_url = store.lake_url()
    cfg = config(tmp_path)

    private_seaweed.stop()
    failed = scc(["extract", "--date", str(D), "--lake", lake_url], env, cfg, timeout=180)
    line = one_line_failure(failed)
    assert store.endpoint_url.split("//")[1] in line or lake_url in line, line
    assert not [s for s in sandbox.state()["syncs"] if s["kind"] == "exports"], "a sync started with no lake"

    private_seaweed.restart()
    done = scc(["extract", "--date", str(D), "--lake", lake_url], env, cfg)
    assert done.returncode == 0, done.stderr[-3000:]
    assert by_key(contacts_of(store, lake_url), "ContactId") == by_key(expected_contacts(sandbox), "ContactId")


@pytest.mark.timeout(120)
def test_scc_extract_against_a_login_host_that_never_answers_ends_in_one_line(tmp_path):
    # A socket that listens and never reads: connections complete in the kernel, no byte is ever answered.
    silent = socket.socket()
    silent.bind(("127.0.0.1", 0))
    silent.listen(16)
    try:
        env = {**os.environ, "ELOQUA_LOGIN_URL": f"http://127.0.0.1:{silent.getsockname()[1]}",
               "ELOQUA_SITE": "Acme", "ELOQUA_USER": "u", "ELOQUA_PASSWORD": "pw"}
        result = scc(["extract", "--date", str(D), "--lake", f"file://{tmp_path / 'lake'}"], env,
                     config(tmp_path), timeout=90)  # the discovery deadline is seconds; 90 s means a hang
    finally:
        silent.close()
    line = one_line_failure(result)
    assert "127.0.0.1" in line and "discovery" in line, line
