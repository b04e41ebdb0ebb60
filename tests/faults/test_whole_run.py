"""Findings 4 and 5 of issue 13 over one whole ``scc nightly`` (two workers, a real luigid, a small sandbox, a
file:// lake, ``--verbose``) with distinctive credentials in its environment:

* every socket the CLI and any process it starts (Luigi workers, spark-submit, the Spark JVM) listens on is on
  loopback;
* no credential value (nor the Basic header's base64) appears in the run's output, in luigid's tasks and their
  parameters, or in any byte of any file of the lake; neither in a second run whose Spark job fails, nor in the
  failure explanation luigid holds for it.
"""

from __future__ import annotations

import base64
import datetime as dt
import json
import os
import shutil
import subprocess
import sys
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import quote

import psutil
import pytest
import requests

from contract.objects import PIPELINES
from lake.paths import LakeLayout
from tests.fixtures.luigid import Luigid, running_luigid
from tests.fixtures.sandbox import SandboxHandle, start_sandbox_process

pytestmark = [pytest.mark.integration, pytest.mark.slow]

REPO = Path(__file__).resolve().parents[2]
SCC = [sys.executable, "-m", "luigi_tasks.cli"]
D = dt.date(2026, 11, 26)

# Distinctive values: none is a substring of anything the code or the sandbox prints by itself.
PASSWORD = "pw-Wr9eloqua-ZT61"
CLIENT_SECRET = "cs-Wr9client-ZT62"
ACCESS_KEY = "AKIAWR9ACCESSZT63"
SECRET_KEY = "sk-Wr9secret-ZT64"
DB_PASSWORD = "db-Wr9pass-ZT65"
WEBHOOK = "https://hooks.example.invalid/services/T0/B0/wh-Wr9hook-ZT66"
LOOPBACK = {"127.0.0.1", "::1", "::ffff:127.0.0.1"}


def _env(sandbox: SandboxHandle, config: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items()
           if not k.startswith(("ELOQUA_", "SCC_", "LUIGI_CONFIG_PATH", "AWS_", "DATABASE_URL"))}
    return {**env, "PYTHONPATH": str(REPO), "LUIGI_CONFIG_PATH": str(config),
            "ELOQUA_LOGIN_URL": sandbox.url, "ELOQUA_SITE": sandbox.site, "ELOQUA_USER": sandbox.user,
            "ELOQUA_PASSWORD": PASSWORD, "ELOQUA_CLIENT_SECRET": CLIENT_SECRET,
            "AWS_ACCESS_KEY_ID": ACCESS_KEY, "AWS_SECRET_ACCESS_KEY": SECRET_KEY,
            "DATABASE_URL": f"postgresql://scc:{DB_PASSWORD}@db.internal:5432/scc",
            "SCC_ALERT_WEBHOOK_URL": WEBHOOK}


def _secrets(sandbox: SandboxHandle) -> list[str]:
    basic = base64.b64encode(f"{sandbox.site}\\{sandbox.user}:{PASSWORD}".encode()).decode()
    plain = [PASSWORD, CLIENT_SECRET, ACCESS_KEY, SECRET_KEY, DB_PASSWORD, WEBHOOK, basic]
    return sorted({*plain, *(quote(s, safe="") for s in plain)})


def _config(path: Path, **sections: dict[str, str]) -> Path:
    """The shipped local config, with options of some sections replaced or added."""
    out: list[str] = []
    section = ""

    def add(name: str) -> None:
        out.extend(f"{k} = {v}" for k, v in sections.get(name, {}).items())

    for line in (REPO / "conf" / "luigi" / "local.cfg").read_text().splitlines():
        if line.startswith("["):
            add(section)
            section = line.strip("[] ")
        if line.split("=", 1)[0].strip() in sections.get(section, {}):
            continue
        out.append(line)
    add(section)
    path.write_text("\n".join(out) + "\n")
    return path


@dataclass
class Run:
    result: subprocess.CompletedProcess[str]
    listening: set[tuple[str, int, int, str]] = field(default_factory=set)  # (ip, port, pid, process name)
    seen: dict[int, str] = field(default_factory=dict)  # pid -> process name

    @property
    def text(self) -> str:
        return self.result.stdout + self.result.stderr


def _watch(proc: subprocess.Popen[str], run: Run, stop: threading.Event) -> None:
    while not stop.is_set():
        try:
            root = psutil.Process(proc.pid)
            family = [root, *root.children(recursive=True)]
        except psutil.Error:
            family = []
        for each in family:
            try:
                name = each.name()
                conns = each.net_connections(kind="inet")
            except psutil.Error:
                continue
            run.seen[each.pid] = name
            for conn in conns:
                if conn.status == psutil.CONN_LISTEN:
                    run.listening.add((conn.laddr.ip, conn.laddr.port, each.pid, name))
        stop.wait(0.2)


def scc_nightly(env: dict[str, str], lake: LakeLayout, luigid: Luigid, timeout: float = 900) -> Run:
    args = [*SCC, "--verbose", "nightly", "--date", D.isoformat(), "--lake", lake.url, "--workers", "2",
            "--scheduler-url", luigid.url, "--approve-initial-load"]
    proc = subprocess.Popen(args, env=env, cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    run = Run(subprocess.CompletedProcess(args, -1))
    stop = threading.Event()
    watcher = threading.Thread(target=_watch, args=(proc, run, stop), daemon=True)
    watcher.start()
    try:
        stdout, stderr = proc.communicate(timeout=timeout)
    finally:
        stop.set()
        watcher.join()
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    run.result = subprocess.CompletedProcess(args, proc.returncode, stdout, stderr)
    return run


def luigid_text(luigid: Luigid) -> tuple[str, list[str]]:
    """Every task luigid knows (every status, with its parameters) as JSON, and the failure explanations."""
    tasks = requests.get(f"{luigid.url}/api/task_list",
                         params={"data": json.dumps({"status": "", "limit": False})}, timeout=30).json()
    assert tasks["response"], "luigid knows no task: the scan would be vacuous"
    errors = []
    for task_id, task in tasks["response"].items():
        if task.get("status") == "FAILED":
            answer = requests.get(f"{luigid.url}/api/fetch_error",
                                  params={"data": json.dumps({"task_id": task_id})}, timeout=30).json()
            errors.append(json.dumps(answer["response"]))
    return json.dumps(tasks), errors


def leaks_in_lake(root: Path, secrets: list[str]) -> list[tuple[str, str]]:
    wanted = [s.encode() for s in secrets]
    found: list[tuple[str, str]] = []
    files = 0
    for path in root.rglob("*"):
        if path.is_file():
            files += 1
            data = path.read_bytes()
            found.extend((str(path), s.decode()) for s in wanted if s in data)
    assert files > 0, f"no file under {root}: the scan would be vacuous"
    return found


@dataclass
class WholeRun:
    sandbox: SandboxHandle
    lake: LakeLayout
    luigid: Luigid
    env: dict[str, str]
    tmp: Path
    good: Run


@pytest.fixture(scope="module")
def whole_run(tmp_path_factory: pytest.TempPathFactory) -> Iterator[WholeRun]:
    tmp = tmp_path_factory.mktemp("whole-run")
    # A scheduler of its own: what luigid holds after these runs is theirs alone, not other modules' tasks. The
    # failing run follows the good one within seconds: luigid's stable_done_cooldown_secs (10 s) would refuse to
    # hand out again a task it marked DONE that recently ("not granted run permission"), so it is off here.
    with running_luigid(tmp_path_factory.mktemp("whole-run-luigid"),
                        scheduler="stable_done_cooldown_secs = 0\n") as luigid:
        sandbox = start_sandbox_process(tmp / "sandbox", contacts=300, seed=13, sync_delay=0.05,
                                        as_of=(D + dt.timedelta(days=1)).isoformat(), password=PASSWORD,
                                        client_secret=CLIENT_SECRET)
        try:
            lake = LakeLayout(f"file://{tmp / 'lake'}")
            env = _env(sandbox, _config(tmp / "luigi.cfg"))
            good = scc_nightly(env, lake, luigid)
            yield WholeRun(sandbox, lake, luigid, env, tmp, good)
        finally:
            sandbox.stop()


def test_the_run_succeeds(whole_run: WholeRun) -> None:
    assert whole_run.good.result.returncode == 0, whole_run.good.text[-3000:]


def test_every_listening_socket_of_every_process_of_the_run_is_on_loopback(whole_run: WholeRun) -> None:
    run = whole_run.good
    names = sorted(set(run.seen.values()))
    assert any("java" in n for n in names), f"the Spark JVM was never observed: {names}"
    outside = sorted(s for s in run.listening if s[0] not in LOOPBACK)
    assert outside == [], f"listening beyond the machine: {outside}; every listener: {sorted(run.listening)}"


def test_no_secret_in_the_output_luigid_or_the_lake(whole_run: WholeRun) -> None:
    secrets = _secrets(whole_run.sandbox)
    assert "DEBUG" in whole_run.good.result.stderr  # --verbose did turn debug logging on
    assert [s for s in secrets if s in whole_run.good.text] == []
    tasks, _ = luigid_text(whole_run.luigid)
    assert [s for s in secrets if s in tasks] == []
    assert leaks_in_lake(Path(whole_run.lake.url[len("file://"):]), secrets) == []


def test_a_failed_spark_job_leaves_no_secret_in_its_error_or_in_luigid(whole_run: WholeRun) -> None:
    assert whole_run.good.result.returncode == 0, whole_run.good.text[-3000:]
    # One pipeline's published output removed: the second run has exactly its Spark job to do, and it fails.
    pipeline = PIPELINES[0]
    for url in (whole_run.lake.import_ready(pipeline, D), whole_run.lake.quality(pipeline, D),
                whole_run.lake.loaded_receipt(pipeline, D)):
        path = Path(url[len("file://"):])
        shutil.rmtree(path) if path.is_dir() else path.unlink(missing_ok=True)
    env = {**whole_run.env, "LUIGI_CONFIG_PATH": str(_config(
        whole_run.tmp / "failing.cfg", spark={"driver_memory": "7q"},
        worker={"keep_alive": "false"}))}  # no waiting on luigid's retry of the failed task
    failed = scc_nightly(env, whole_run.lake, whole_run.luigid, timeout=600)
    assert failed.result.returncode not in (0, -1), failed.text[-3000:]
    tasks, errors = luigid_text(whole_run.luigid)
    statuses = {t.get("display_name", t.get("name")): t["status"] for t in json.loads(tasks)["response"].values()}
    # --verbose output is mostly DEBUG lines: what explains a missing failure is the rest
    told = [line for line in failed.text.splitlines() if " DEBUG " not in line]
    why = (f"luigid's tasks not DONE: {[(n, s) for n, s in statuses.items() if s != 'DONE']}\n"
           f"exit {failed.result.returncode}; the run's output without DEBUG lines ends: {told[-60:]}")
    assert errors, f"luigid holds no failure explanation: the scan would be vacuous\n{why}"
    assert any("7q" in e for e in errors), f"{errors}\n{why}"  # spark-submit's explanation, no other failure's
    secrets = _secrets(whole_run.sandbox)
    leaks = {where: [s for s in secrets if s in text]
             for where, text in (("output", failed.text), ("tasks", tasks), ("errors", "\n".join(errors)))}
    assert leaks == {"output": [], "tasks": [], "errors": []}
    assert leaks_in_lake(Path(whole_run.lake.url[len("file://"):]), secrets) == []
