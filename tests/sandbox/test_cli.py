"""``scc sandbox serve`` as a process: the listening line, exit codes, flags, restart persistence."""

from __future__ import annotations

import signal
import subprocess
import sys
from pathlib import Path

import pytest
import requests

from tests.fixtures.sandbox import REPO, start_sandbox_process
from tests.sandbox.bulk import create_export, export_rows, get, run_import, sync

pytestmark = pytest.mark.integration

EMAIL = "{{Contact.Field(C_EmailAddress)}}"
TITLE = "{{Contact.Field(C_Title)}}"


def run_cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "scc_sandbox.cli", *args],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=60,
    )


@pytest.mark.parametrize(
    "args",
    [
        ["serve", "--as-of", "2026-13-01"],  # impossible date
        ["serve", "--as-of", "yesterday"],
        ["serve", "--port", "-1"],
        ["serve", "--contacts", "many"],
        ["serve", "--sync-delay", "-2"],
        ["serve", "--bogus"],
        ["launch"],
        [],
    ],
)
def test_bad_flags_exit_2_with_one_line(args: list[str]) -> None:
    result = run_cli(*args)
    assert result.returncode == 2
    assert result.stdout == ""
    assert len(result.stderr.strip().splitlines()) == 1


def test_missing_faults_file_exits_2(tmp_path: Path) -> None:
    result = run_cli("serve", "--data-dir", str(tmp_path / "d"), "--faults", str(tmp_path / "nope.json"))
    assert result.returncode == 2 and "--faults" in result.stderr


def test_prints_one_line_and_exits_0_on_sigterm_and_sigint(tmp_path: Path) -> None:
    for sig in (signal.SIGTERM, signal.SIGINT):
        handle = start_sandbox_process(tmp_path / sig.name, contacts=5)
        assert handle.url.startswith("http://127.0.0.1:")
        assert requests.get(f"{handle.url}/id", auth=handle.auth, timeout=10).status_code == 200
        handle.process.send_signal(sig)
        assert handle.process.wait(timeout=20) == 0
        assert handle.process.stdout.read() == ""  # exactly one line was printed


def test_restart_with_the_same_data_dir_keeps_imported_changes(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    first = start_sandbox_process(tmp_path / "a", data_dir=data_dir, contacts=30, seed=5)
    target = next(
        r[EMAIL] for r in first.dump("contacts") if r[EMAIL] and r[EMAIL] == r[EMAIL].strip().lower()
    )
    _sync, done = run_import(
        first,
        "contacts",
        {"Email": EMAIL, "Title": TITLE},
        "Email",
        [{"Email": target, "Title": "Persisted"}],
    )
    assert done["status"] == "success"
    definitions = requests.get(f"{first.bulk_url}/contacts/imports", auth=first.auth, timeout=10).json()
    assert first.stop() == 0
    second = start_sandbox_process(tmp_path / "b", data_dir=data_dir, contacts=30, seed=5)
    try:
        rows = {r[EMAIL]: r for r in second.dump("contacts")}
        assert rows[target][TITLE] == "Persisted"
        assert (
            requests.get(f"{second.bulk_url}/contacts/imports", auth=second.auth, timeout=10).json()
            == definitions
        )
        exported = export_rows(
            second, "contacts", {"Email": EMAIL, "Title": TITLE}, f"'{EMAIL}' = '{target}'"
        )
        assert exported == [{"Email": target, "Title": "Persisted"}]
    finally:
        second.stop()


def test_restart_with_other_data_options_is_refused(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    first = start_sandbox_process(tmp_path / "a", data_dir=data_dir, contacts=10, seed=5)
    first.stop()
    result = run_cli("serve", "--data-dir", str(data_dir), "--contacts", "10", "--seed", "6")
    assert result.returncode == 2
    assert "--seed 5" in result.stderr and len(result.stderr.strip().splitlines()) == 1


def test_same_seed_gives_the_same_data_in_two_servers(sandbox_factory) -> None:
    a = sandbox_factory(contacts=25, seed=9)
    b = sandbox_factory(contacts=25, seed=9)
    c = sandbox_factory(contacts=25, seed=10)
    assert a.dump("contacts") == b.dump("contacts") != c.dump("contacts")
    day = f"{a.as_of.replace(day=20)}"
    assert a.dump(f"activities?type=EmailOpen&day={day}") == b.dump(f"activities?type=EmailOpen&day={day}")


def test_a_sync_running_at_shutdown_ends_in_error_after_restart(tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    stuck = {"faults": [{"kind": "stuck_pending", "match": "*"}]}
    first = start_sandbox_process(tmp_path / "a", data_dir=data_dir, contacts=10, faults=stuck)
    sync_uri = sync(first, create_export(first, "contacts", {"Id": "{{Contact.Id}}"}))
    assert first.stop() == 0
    second = start_sandbox_process(tmp_path / "b", data_dir=data_dir, contacts=10)
    try:
        assert get(second, sync_uri).json()["status"] == "error"
        logs = get(second, f"{sync_uri}/logs").json()["items"]
        assert "restart" in logs[0]["message"]
    finally:
        second.stop()
