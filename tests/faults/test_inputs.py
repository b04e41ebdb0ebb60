"""Findings 2, 3, 5 and 6 of issue 13: bad input is one line and exit 2 before anything touches Eloqua or the
lake; a host that accepts and never answers and a stuck write end in one line; the shipped configs keep Spark
on loopback and let a rerun take over promptly."""

from __future__ import annotations

import configparser
import datetime as dt
import os
import socket
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from eloqua.client import EloquaClient
from eloqua.errors import EloquaUnreachable
from eloqua.settings import EloquaSettings
from lake.errors import LakeError
from lake.storage import within_deadline
from tests.support.procs import free_port

REPO = Path(__file__).resolve().parents[2]
SCC = [sys.executable, "-m", "luigi_tasks.cli"]
TODAY = dt.datetime.now(dt.UTC).date()


def _env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ELOQUA_", "SCC_", "LUIGI_CONFIG_PATH"))}
    # A closed port: were Eloqua contacted before the input is refused, the line would name it instead.
    closed = f"http://127.0.0.1:{free_port()}"
    return {**env, "ELOQUA_LOGIN_URL": closed, "ELOQUA_SITE": "Acme", "ELOQUA_USER": "u", "ELOQUA_PASSWORD": "pw",
            **extra}


def _refused(args: list[str], env: dict[str, str], lake: Path) -> str:
    result = subprocess.run([*SCC, *args, "--lake", str(lake), "--local-scheduler"], env=env,
                            capture_output=True, text=True, timeout=120)
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert (result.returncode, len(lines)) == (2, 1), result.stderr[-2000:]
    assert not lake.exists()  # nothing written: the lake is not even probed
    return lines[0]


@pytest.mark.parametrize(("day", "expected"), [
    (TODAY.isoformat(), "is not over yet"),  # the day still running
    ((TODAY + dt.timedelta(days=3)).isoformat(), "is not over yet"),
    ("1900-01-01", "before [nightly] earliest_date = 2014-01-01"),
])
@pytest.mark.parametrize("command", ["extract", "nightly"])
def test_a_day_out_of_range_is_one_line_before_eloqua(command: str, day: str, expected: str,
                                                      tmp_path: Path) -> None:
    assert expected in _refused([command, "--date", day], _env(), tmp_path / "lake")


def test_a_named_config_file_that_does_not_exist_is_one_line(tmp_path: Path) -> None:
    missing = tmp_path / "nowhere.cfg"
    line = _refused(["extract", "--date", "2026-11-26"], _env(LUIGI_CONFIG_PATH=str(missing)), tmp_path / "lake")
    assert f"LUIGI_CONFIG_PATH names {missing}, which does not exist" in line


def test_a_malformed_config_file_is_one_line(tmp_path: Path) -> None:
    bad = tmp_path / "bad.cfg"
    bad.write_text("[core\nworkers = 2\n")
    line = _refused(["extract", "--date", "2026-11-26"], _env(LUIGI_CONFIG_PATH=str(bad)), tmp_path / "lake")
    assert f"the Luigi config {bad} is malformed" in line


@pytest.mark.parametrize(("option", "value"), [("page_size", "0"), ("page_size", "50001"), ("concurrency", "0")])
def test_an_out_of_range_knob_is_one_line_before_a_sync_starts(option: str, value: str, tmp_path: Path) -> None:
    cfg = tmp_path / "luigi.cfg"
    # Into the shipped config's own [extract] section: a second section of that name would be a malformed file.
    shipped = (REPO / "conf" / "luigi" / "local.cfg").read_text()
    assert "\n[extract]\n" in shipped
    cfg.write_text(shipped.replace("\n[extract]\n", f"\n[extract]\n{option} = {value}\n", 1))
    line = _refused(["extract", "--date", "2026-11-26"], _env(LUIGI_CONFIG_PATH=str(cfg)), tmp_path / "lake")
    assert f"[extract] {option} = {value} is out of range" in line


@pytest.fixture()
def silent_host() -> Iterator[str]:
    """A host that accepts connections and never answers."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(8)
    held: list[socket.socket] = []
    stop = threading.Event()

    def accept() -> None:
        server.settimeout(0.2)
        while not stop.is_set():
            try:
                held.append(server.accept()[0])
            except OSError:
                continue

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.getsockname()[1]}"
    stop.set()
    thread.join()
    for conn in held:
        conn.close()
    server.close()


@pytest.mark.timeout(90)  # the default read timeout (300 s) would hang here: discovery's deadline is seconds
def test_a_login_host_that_never_answers_fails_discovery_in_one_line(silent_host: str) -> None:
    client = EloquaClient(EloquaSettings.basic("Acme", "u", "pw", login_url=silent_host))
    with pytest.raises(EloquaUnreachable, match=r"cannot reach Eloqua at 127\.0\.0\.1:\d+ for base URL discovery"):
        client.discover()


@pytest.mark.timeout(60)
def test_a_stuck_write_is_abandoned_with_one_line() -> None:
    never = threading.Event()
    with pytest.raises(LakeError, match=r"^cannot split the range into s3://b/x: no progress within 1s"):
        within_deadline(1, "s3://b/x", "split the range into", never.wait)
    assert within_deadline(5, "s3://b/x", "write", lambda: 42) == 42
    with pytest.raises(ZeroDivisionError):  # the work's own error is the caller's
        within_deadline(5, "s3://b/x", "write", lambda: 1 // 0)


def _cfg(name: str) -> configparser.RawConfigParser:
    parser = configparser.RawConfigParser()
    parser.read(REPO / "conf" / "luigi" / name)
    return parser


def test_local_spark_listens_on_loopback_only_with_no_ui() -> None:
    conf = dict(item.split("=", 1) for item in _cfg("local.cfg").get("spark", "conf").split("|"))
    assert (conf["spark.driver.host"], conf["spark.driver.bindAddress"], conf["spark.ui.enabled"]) == (
        "127.0.0.1", "127.0.0.1", "false")


@pytest.mark.parametrize("name", ["local.cfg", "openshift.cfg"])
def test_both_configs_let_a_rerun_take_over_promptly(name: str) -> None:
    cfg = _cfg(name)
    # The rerun waits for the cap or the dead run's tasks instead of exiting 25, and not for 15 minutes.
    assert cfg.getboolean("worker", "keep_alive") and cfg.getboolean("worker", "retry_external_tasks")
    assert cfg.getint("worker", "max_keep_alive_idle_duration") > 0
    assert cfg.getfloat("scheduler", "retry_delay") <= 60
    assert cfg.getfloat("scheduler", "worker_disconnect_delay") <= 60
    assert cfg.getfloat("worker", "ping_interval") < cfg.getfloat("scheduler", "worker_disconnect_delay")


@pytest.mark.parametrize(("option", "value", "expected"), [
    ("--contacts", "0", "--contacts 0: the sandbox needs at least 1 contact"),
    ("--workers", "-1", "--workers -1: run at least 1 Luigi worker"),
    ("--contacts", "many", "invalid int value: 'many'"),
])
def test_demo_options_out_of_range_are_one_line(option: str, value: str, expected: str, tmp_path: Path) -> None:
    result = subprocess.run([*SCC, "demo", option, value, "--lake", str(tmp_path / "lake")], env=_env(),
                            capture_output=True, text=True, timeout=120)
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert (result.returncode, len(lines)) == (2, 1), result.stderr[-2000:]
    assert expected in lines[0]
    assert not (tmp_path / "lake").exists()
