"""``scc demo`` leaves nothing behind: interrupted (SIGINT), terminated (SIGTERM) or killed (SIGKILL), its
children (the sandbox, the Luigi workers, spark-submit) stop with it."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from luigi_tasks.demo import _group_alive
from tests.support.procs import port_open, wait_until

pytestmark = pytest.mark.integration


def _children(pid: int) -> list[int]:
    text = Path(f"/proc/{pid}/task/{pid}/children").read_text()
    return [int(p) for p in text.split()]


def _group_members(pgid: int) -> list[int]:
    members = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[2]) == pgid and fields[0] != "Z":
            members.append(int(stat.parent.name))
    return members


@pytest.mark.parametrize("signum", [signal.SIGINT, signal.SIGTERM, signal.SIGKILL])
def test_the_demo_stops_its_children_when_stopped(signum: int, tmp_path: Path) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ELOQUA_", "SCC_", "LUIGI_CONFIG_PATH"))}
    demo = subprocess.Popen([sys.executable, "-m", "luigi_tasks.cli", "demo", "--contacts", "200",
                             "--lake", str(tmp_path / "demo" / "lake"), "--workers", "1"],
                            env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
    lines: list[str] = []
    reader = threading.Thread(target=lambda: lines.extend(iter(demo.stdout.readline, "")), daemon=True)
    reader.start()
    try:
        wait_until(lambda: any(line.startswith("sandbox on ") for line in lines), timeout=180,
                   what="the demo's sandbox", proc=demo)
        url = next(line for line in lines if line.startswith("sandbox on ")).split()[2].rstrip(";")
        port = int(url.rsplit(":", 1)[1])
        (child,) = _children(demo.pid)
        members = _group_members(child)
        assert len(members) >= 2  # the demo itself and at least the sandbox, in their own process group
        assert os.getpgid(demo.pid) != child

        demo.send_signal(signum)

        wait_until(lambda: not _group_alive(child), timeout=60, what="the end of the demo's process group")
        assert _group_members(child) == []
        assert not port_open(port)
        assert demo.wait(30) == (-signal.SIGKILL if signum == signal.SIGKILL else 128 + signum)
    finally:
        if demo.poll() is None:
            demo.kill()
            demo.wait(10)
