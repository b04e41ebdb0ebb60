"""The ``scc`` command as an operator meets it: one line and a non-zero exit for every usual mistake, and the
whole nightly DAG on a small sandbox and a local lake."""

from __future__ import annotations

import datetime as dt
import json
import os
import subprocess
import sys
from pathlib import Path

import luigi
import pytest

from contract.objects import PIPELINES
from lake.paths import LakeLayout
from tests.support.procs import free_port

SCC = [sys.executable, "-m", "luigi_tasks.cli"]
D = dt.date(2026, 11, 26)


def _env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ELOQUA_", "SCC_", "LUIGI_CONFIG_PATH"))}
    return {**env, **extra}


def _eloqua_env(sandbox, password: str | None = None) -> dict[str, str]:
    return {"ELOQUA_LOGIN_URL": sandbox.url, "ELOQUA_SITE": sandbox.site, "ELOQUA_USER": sandbox.user,
            "ELOQUA_PASSWORD": password or sandbox.password}


def _scc(*args: str, env: dict[str, str], timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run([*SCC, *args], env=env, capture_output=True, text=True, timeout=timeout)


def _one_line(result: subprocess.CompletedProcess[str]) -> str:
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, result.stderr
    return lines[0]


@pytest.mark.parametrize("command", ["extract", "nightly"])
def test_a_malformed_date_is_one_line_and_exit_2(command: str, tmp_path: Path) -> None:
    result = _scc(command, "--date", "2026-13-01", "--lake", str(tmp_path), env=_env())
    assert result.returncode == 2
    assert "invalid date '2026-13-01': expected YYYY-MM-DD" in _one_line(result)


def test_a_lake_url_of_another_scheme_is_one_line_and_exit_2() -> None:
    result = _scc("extract", "--date", D.isoformat(), "--lake", "ftp://host/lake", env=_env())
    assert result.returncode == 2
    assert "ftp" in _one_line(result)


def test_missing_eloqua_credentials_are_one_line_naming_the_variables(tmp_path: Path) -> None:
    result = _scc("extract", "--date", D.isoformat(), "--lake", str(tmp_path), env=_env())
    assert result.returncode == 2
    assert "ELOQUA_" in _one_line(result)


@pytest.mark.integration
def test_wrong_password_is_one_line_without_the_password(sandbox, tmp_path: Path) -> None:
    wrong = "not-the-password-42"
    result = _scc("nightly", "--date", D.isoformat(), "--lake", str(tmp_path),
                  env=_env(**_eloqua_env(sandbox, password=wrong)))
    assert result.returncode == 2
    line = _one_line(result)
    assert "Not authenticated" in line or "credentials" in line.lower()
    assert wrong not in result.stderr + result.stdout


def test_an_unreachable_eloqua_is_one_line_and_exit_2(tmp_path: Path) -> None:
    closed = f"http://127.0.0.1:{free_port()}"
    env = _env(ELOQUA_LOGIN_URL=closed, ELOQUA_SITE="Acme", ELOQUA_USER="u", ELOQUA_PASSWORD="p")
    result = _scc("extract", "--date", D.isoformat(), "--lake", str(tmp_path), env=env)
    assert result.returncode == 2
    assert "127.0.0.1" in _one_line(result)


@pytest.mark.integration
def test_an_unwritable_lake_is_one_line_naming_it(sandbox, tmp_path: Path) -> None:
    blocker = tmp_path / "lake"
    blocker.write_text("a file where the lake folder should be")
    result = _scc("extract", "--date", D.isoformat(), "--lake", str(blocker), env=_env(**_eloqua_env(sandbox)))
    assert result.returncode == 2
    assert str(blocker) in _one_line(result)


@pytest.mark.integration
@pytest.mark.slow
def test_nightly_builds_every_dataset_of_the_day_and_a_rerun_does_nothing(sandbox_factory, tmp_path: Path) -> None:
    small = sandbox_factory(contacts=150, seed=11, as_of=(D + dt.timedelta(days=1)).isoformat(), sync_delay=0.05)
    lake = LakeLayout(f"file://{tmp_path / 'lake'}")
    env = _env(**_eloqua_env(small))

    first = _scc("nightly", "--date", D.isoformat(), "--lake", lake.url, "--local-scheduler",
                 "--approve-initial-load", env=env, timeout=900)

    assert first.returncode == 0, first.stderr[-3000:]
    done = [lake.raw_contacts(D), lake.staged_contacts(D), *(lake.import_ready(p, D) for p in PIPELINES)]
    missing = [url for url in done if not Path(url[len("file://"):], "_SUCCESS").exists()]
    assert missing == []
    receipts = [json.loads(Path(lake.loaded_receipt(p, D)[len("file://"):]).read_text()) for p in PIPELINES]
    syncs = len(small.state()["syncs"])
    # contacts, one ranged lookback export per activity type, two custom objects; one import per pipeline
    # with rows to load (an empty payload's receipt says "empty" and starts no sync)
    assert syncs == 1 + 6 + 2 + len([r for r in receipts if r["status"] != "empty"])

    again = _scc("nightly", "--date", D.isoformat(), "--lake", lake.url, "--local-scheduler", env=env)
    assert again.returncode == 0, again.stderr[-3000:]
    assert len(small.state()["syncs"]) == syncs  # everything was complete: no new export


class _NeverDone(luigi.Task):
    """A task another worker of the same scheduler is running: luigi reports success, the goal stays undone."""

    def complete(self) -> bool:
        return False


@pytest.mark.parametrize(
    ("outcome", "retcode_option", "fallback"),
    [
        ("run by another worker", "already_running", 10),
        ("luigi raised", "unhandled_exception", 40),
    ],
)
def test_luigi_outcomes_without_a_failed_task_have_their_own_exit_codes(
    outcome, retcode_option, fallback, monkeypatch, capsys
) -> None:
    from luigi.execution_summary import LuigiRunResult, LuigiStatusCode
    from luigi.retcodes import retcode

    from luigi_tasks import cli

    def build(tasks, **kwargs):
        if outcome == "luigi raised":
            raise RuntimeError("scheduler answered garbage\nsecond line")
        result = LuigiRunResult.__new__(LuigiRunResult)
        result.status = LuigiStatusCode.SUCCESS
        result.one_line_summary = "This progress looks :) because there were no failed tasks or missing dependencies"
        return result

    monkeypatch.setattr(luigi, "build", build)
    code = getattr(retcode(), retcode_option) or fallback  # the [retcode] option, never 0 ("success")
    assert cli.run_tasks([_NeverDone()], workers=1, local_scheduler=True) == code
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and err.startswith("scc: ")
