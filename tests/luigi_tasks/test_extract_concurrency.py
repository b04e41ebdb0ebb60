"""The ``eloqua_bulk_syncs`` resource holds across worker processes sharing one real luigid.

Two worker processes (2 workers each, 4 task slots in all) build 4 extract tasks each against a luigid
configured with ``[resources] eloqua_bulk_syncs = 2``; the sandbox keeps every sync running long enough to
overlap and counts the highest number of syncs active at once.
"""

from __future__ import annotations

import datetime as dt
import subprocess
import sys

import pytest

from tests.luigi_tasks.test_extract import REPO, export_syncs, luigi_cfg, subprocess_env

pytestmark = [pytest.mark.integration, pytest.mark.slow]

DAYS = (dt.date(2026, 11, 19), dt.date(2026, 11, 20))
TYPES = ("EmailOpen", "EmailClickthrough", "FormSubmit", "WebVisit")
RUNNER = '''
import datetime as dt, sys
import luigi
from luigi_tasks.extract import ExtractActivities

host, port, *specs = sys.argv[1:]
pairs = (spec.split("@") for spec in specs)
tasks = [ExtractActivities(activity_type=t, date=dt.date.fromisoformat(d)) for t, d in pairs]
ok = luigi.build(tasks, scheduler_host=host, scheduler_port=int(port), workers=2)
sys.exit(0 if ok else 1)
'''


def test_two_worker_processes_never_run_more_than_two_eloqua_syncs_at_once(luigid, sandbox_factory, tmp_path):
    sandbox = sandbox_factory(contacts=150, seed=8, sync_delay=1.5)
    lake = tmp_path / "lake"
    # keep_alive: a worker whose tasks wait for the resource keeps asking, as in production
    config = luigi_cfg(tmp_path / "luigi.cfg", f"file://{lake}",
                       extra="[worker]\nkeep_alive = true\nwait_interval = 0.2\nwait_jitter = 0.2\n")
    env = subprocess_env(sandbox, config)
    runner = tmp_path / "run_batch.py"
    runner.write_text(RUNNER)
    specs = [f"{t}@{d}" for t in TYPES for d in DAYS]
    assert len(specs) == 8

    logs = [tmp_path / f"worker-{n}.log" for n in (1, 2)]
    procs = []
    for n, log in enumerate(logs):
        with log.open("wb") as out:  # disjoint halves: each process must run its own 4 tasks
            argv = [sys.executable, str(runner), luigid.host, str(luigid.port), *specs[n::2]]
            procs.append(subprocess.Popen(argv, env=env, cwd=REPO, stdout=out, stderr=subprocess.STDOUT))
    for proc, log in zip(procs, logs, strict=True):
        assert proc.wait(timeout=300) == 0, log.read_text()[-3000:]

    state = sandbox.state()
    assert state["max_active_syncs"] == 2, "the resource limit was broken, or syncs never overlapped"
    assert len(export_syncs(sandbox)) == 8, "every task runs exactly once"
    for t in TYPES:
        for d in DAYS:
            dataset = lake / "raw" / "activities" / f"activity_type={t}" / f"activity_date={d}"
            assert (dataset / "_SUCCESS").exists()
    ran = [log.read_text().count("done      ExtractActivities(") for log in logs]
    assert ran == [4, 4], ran
