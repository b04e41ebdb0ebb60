"""``make demo`` / ``scc demo``: two nights of the nightly pipelines against the local Eloqua sandbox.

Starts the sandbox (a subprocess on a free loopback port, with a password made up for this run), points the
Eloqua client and the lake at it and a local folder, then runs ``Nightly`` for the day before ``--date`` (the
first run: full contacts export and the 90-day activity lookback) and for ``--date`` (an incremental night), and
prints what each zone of the lake now holds. Rerunning it finds every task complete and only prints.
"""

from __future__ import annotations

import datetime as dt
import os
import secrets
import subprocess
import sys
import time
from pathlib import Path

from contract.objects import PIPELINES
from lake.paths import LakeLayout

SANDBOX_SITE = "SCCDemo"
SANDBOX_USER = "scc.demo"
READY_PREFIX = "Eloqua sandbox listening on "


def start_sandbox(contacts: int, as_of: dt.date, data_dir: Path, password: str) -> tuple[subprocess.Popen, str]:
    """The sandbox as a child process; returns it and its URL once it prints its listening line."""
    data_dir.mkdir(parents=True, exist_ok=True)
    env = {**os.environ, "SCC_SANDBOX_SITE": SANDBOX_SITE, "SCC_SANDBOX_USER": SANDBOX_USER,
           "SCC_SANDBOX_PASSWORD": password}
    proc = subprocess.Popen(
        [sys.executable, "-m", "luigi_tasks.cli", "sandbox", "serve", "--host", "127.0.0.1", "--port", "0",
         "--contacts", str(contacts),
         "--seed", "2026", "--as-of", as_of.isoformat(), "--data-dir", str(data_dir), "--sync-delay", "0.2"],
        env=env, stdout=subprocess.PIPE, text=True,
    )
    assert proc.stdout is not None
    line = proc.stdout.readline().strip()
    if not line.startswith(READY_PREFIX):
        proc.kill()
        raise RuntimeError(f"the sandbox did not start (exit status {proc.wait()}); see its messages above")
    return proc, line[len(READY_PREFIX):]


def dataset_rows(lake: LakeLayout, url: str) -> int | None:
    """Rows of a published dataset (Parquet footers only), or None when it is not complete."""
    import pyarrow.dataset as ds

    from lake.paths import local_path

    folder = Path(local_path(url))
    if not (folder / "_SUCCESS").exists():
        return None
    return ds.dataset(str(folder), format="parquet", exclude_invalid_files=True).count_rows()


def print_report(layout: LakeLayout, days: list[dt.date]) -> None:
    """What one night left in each zone, one line per dataset."""
    for day in days:
        print(f"\nData day {day}:")
        datasets = [("raw/contacts", layout.raw_contacts(day)),
                    ("raw/activities (Bounceback)", layout.raw_activities("Bounceback", day)),
                    ("raw/campaign_responses", layout.raw_custom_object("campaign_responses", day)),
                    ("staged/contacts", layout.staged_contacts(day))]
        datasets += [(f"import_ready/{p}", layout.import_ready(p, day)) for p in PIPELINES]
        datasets.append(("quarantine/campaign_responses", layout.quarantine("campaign_responses", day)))
        for name, url in datasets:
            rows = dataset_rows(layout, url)
            shown = "missing" if rows is None else f"{rows:,} rows"
            print(f"  {name:<34} {shown:>14}")


def run_demo(contacts: int, last_day: dt.date, lake_dir: Path, workers: int) -> int:
    from luigi_tasks.cli import configure_environment, run_tasks

    lake_dir = lake_dir.resolve()
    home = lake_dir.parent
    password = secrets.token_urlsafe(16)
    days = [last_day - dt.timedelta(days=1), last_day]
    started = time.monotonic()
    sandbox, url = start_sandbox(contacts, last_day + dt.timedelta(days=1), home / "sandbox", password)
    try:
        print(f"Eloqua sandbox on {url} with {contacts:,} contacts; lake at file://{lake_dir}", flush=True)
        os.environ.update(ELOQUA_LOGIN_URL=url, ELOQUA_SITE=SANDBOX_SITE, ELOQUA_USER=SANDBOX_USER,
                          ELOQUA_PASSWORD=password)
        os.environ.pop("SCC_LAKE_URL", None)
        configure_environment(f"file://{lake_dir}")
        from luigi_tasks.nightly import Nightly

        for day in days:
            print(f"\n=== Nightly run for data day {day} ===", flush=True)
            code = run_tasks([Nightly(date=day)], workers=workers, local_scheduler=True)
            if code:
                print(f"scc demo: the nightly run for {day} failed (exit {code})", file=sys.stderr)
                return code
    finally:
        sandbox.terminate()
        sandbox.wait(10)
    print_report(LakeLayout(f"file://{lake_dir}"), days)
    print(f"\nDemo finished in {time.monotonic() - started:.0f} s.")
    return 0
