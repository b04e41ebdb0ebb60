"""The whole night end to end against the Eloqua sandbox: extract, Spark (snapshot, pipelines, gates), load.

    .venv/bin/python bench/nightly.py --contacts 1000000 --keep /tmp/nightly-1m    # ~100 s of sandbox set-up first
    .venv/bin/python bench/nightly.py --contacts 3000                               # a small night

Starts the sandbox (``scc sandbox serve``, as ``make demo`` does) with ``--contacts N`` and its generated
activities, points the Eloqua client at it and the lake at a local folder, then runs one first night for data
day D in three stages, each a Luigi build in its own child process so that its peak RSS is its own:

1. **extract**: ``ExtractAll(D)`` (contacts, the 90-day lookback of every activity type, both custom objects);
2. **spark**: ``LoadAll(D)``'s Spark part, i.e. the ``ContactsSnapshot(D)`` task, whose one ``spark-submit
   jobs/night.py`` runs the snapshot, the four pipelines and the four gates (first loads approved);
3. **load**: ``LoadAll(D, approve_initial_load=True)``: four Bulk imports into the sandbox.

With ``--keep`` the sandbox's store is kept, with a copy taken before the loads change it; the next run starts
from that copy, so it measures a first night again without the minutes a new store spends generating the
activities the extract asks for (the first run's extract includes them).

Prints per stage the wall time, the rows it handled and rows/s, and the peak RSS of its processes (the stage's
Python process, and for the Spark stage the spark-submit JVM and its Python driver), then the Spark night's
own lines (start-up and seconds per job) and the machine's load average before and after.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import re
import secrets
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from spark_jobs import PeakRss

from contract.objects import PIPELINES

DEFAULT_DATE = dt.date(2026, 11, 27)
STAGES = ("extract", "spark", "load")
STORE_FILE = "sandbox.sqlite"  # the sandbox's whole store (its staged/ folder holds only syncs' data)


def _stage(stage: str, day: dt.date) -> int:
    """Runs one stage in this process (the child); prints the Spark night's lines for the parent."""
    import logging

    import luigi

    from luigi_tasks.extract import ExtractAll
    from luigi_tasks.load import LoadAll
    from luigi_tasks.spark_tasks import ContactsSnapshot

    lines: list[str] = []

    class Keep(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            lines.extend(m.group(0) for m in re.finditer(r"^night \S+: .*$", record.getMessage(), re.M))

    interface = logging.getLogger("luigi-interface")
    interface.setLevel(logging.INFO)  # spark-submit's stdout reaches us as INFO records
    interface.addHandler(Keep())
    luigi.configuration.get_config().set("core", "no_configure_logging", "true")
    if stage == "extract":
        tasks: list[luigi.Task] = [ExtractAll(date=day)]
    elif stage == "spark":
        # LoadAll is scheduled so that its gates' approval of the first loads reaches the night's driver;
        # only the Spark task is asked for, so the loads wait for the next stage.
        for load in LoadAll(date=day, approve_initial_load=True).requires():
            load.requires()
        tasks = [ContactsSnapshot(date=day)]
    else:
        tasks = [LoadAll(date=day, approve_initial_load=True)]
    ok = luigi.build(tasks, workers=1, local_scheduler=True)
    for line in lines:
        print(line, flush=True)
    return 0 if ok else 1


def _load_split(lake_dir: Path, day: dt.date) -> list[str]:
    """Per load, from its receipt: the client's staging (serialise and post) apart from the import sync, which
    Eloqua runs on its side (here the sandbox, applying rows one by one in Python on the same two cores)."""
    from lake.paths import LakeLayout, local_path

    layout = LakeLayout(f"file://{lake_dir}")

    def seconds(receipt: dict, start: str, end: str) -> str:
        if not receipt.get(start) or not receipt.get(end):
            return "?"
        span = dt.datetime.fromisoformat(receipt[end]) - dt.datetime.fromisoformat(receipt[start])
        return f"{span.total_seconds():.1f} s"

    lines = []
    for pipeline in PIPELINES:
        path = Path(local_path(layout.loaded_receipt(pipeline, day)))
        if not path.exists():
            continue
        receipt = json.loads(path.read_text())
        lines.append(f"load {pipeline}: {int(receipt.get('rows_staged') or 0):,} rows, staging "
                     f"{seconds(receipt, 'started_at', 'staged_at')}, import sync (Eloqua's side) "
                     f"{seconds(receipt, 'sync_started_at', 'sync_ended_at')}")
    return lines


def _rows(lake_dir: Path, day: dt.date) -> dict[str, int]:
    """Rows each stage handled, from what it published: the extract's manifests, the Spark jobs' metrics,
    the loads' receipts."""
    from lake.paths import LakeLayout, local_path

    layout = LakeLayout(f"file://{lake_dir}")

    def doc(url: str) -> dict:
        path = Path(local_path(url))
        return json.loads(path.read_text()) if path.exists() else {}

    raw = Path(local_path(layout.raw_contacts(day))).parents[1]
    extracted = sum(json.loads(p.read_text()).get("rows", 0) for p in raw.rglob("_export.json"))
    snapshot = doc(f"{layout.staged_contacts(day)}/_metrics.json").get("rows", 0)
    written = snapshot + sum(doc(f"{layout.import_ready(p, day)}/_metrics.json").get("rows", 0)
                             for p in PIPELINES)
    loaded = 0
    for pipeline in PIPELINES:
        receipt = doc(layout.loaded_receipt(pipeline, day))
        loaded += int(receipt.get("rows_staged") or receipt.get("rows") or 0)
    return {"extract": extracted, "spark": written, "load": loaded}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--contacts", type=int, default=1_000_000)
    parser.add_argument("--date", type=dt.date.fromisoformat, default=DEFAULT_DATE)
    parser.add_argument("--master", default="local[2]")
    parser.add_argument("--keep", type=Path, help="folder for the sandbox's store and the lake (kept)")
    parser.add_argument("--stage", choices=STAGES, help=argparse.SUPPRESS)  # the child process
    args = parser.parse_args(argv)
    if args.stage:
        return _stage(args.stage, args.date)

    from luigi_tasks.demo import SANDBOX_SITE, SANDBOX_USER, start_sandbox

    root = args.keep.resolve() if args.keep else Path(tempfile.mkdtemp(prefix="scc-nightly-"))
    lake_dir = root / "lake"
    shutil.rmtree(lake_dir, ignore_errors=True)  # a first night each time; the sandbox's store is reused
    store, pristine = root / "sandbox", root / "sandbox-before-loads"
    if (pristine / STORE_FILE).exists():  # a first night again: the store as it was before any load
        shutil.rmtree(store, ignore_errors=True)
        store.mkdir(parents=True)
        shutil.copy2(pristine / STORE_FILE, store / STORE_FILE)
    password = secrets.token_urlsafe(16)
    load_before = os.getloadavg()
    began = time.monotonic()
    as_of = args.date + dt.timedelta(days=1)
    sandbox, url = start_sandbox(args.contacts, as_of, store, password)
    print(f"sandbox with {args.contacts:,} contacts up in {time.monotonic() - began:.1f} s on {url}", flush=True)
    env = {**os.environ, "ELOQUA_LOGIN_URL": url, "ELOQUA_SITE": SANDBOX_SITE, "ELOQUA_USER": SANDBOX_USER,
           "ELOQUA_PASSWORD": password, "SCC_LAKE_URL": f"file://{lake_dir}",
           "LUIGI_CONFIG_PATH": str(Path(__file__).resolve().parents[1] / "conf" / "luigi" / "local.cfg")}
    results = []
    try:
        for stage in STAGES:
            if stage == "load" and args.keep and not (pristine / STORE_FILE).exists():
                # The loads change the sandbox's contacts, so the next night would be a small second night.
                # Its store is kept as it is now (every activity the extract had the sandbox generate, no
                # load applied) for the next run to start from: a first night without the generation.
                sandbox.terminate()
                sandbox.wait(30)
                pristine.mkdir(exist_ok=True)
                shutil.copy2(store / STORE_FILE, pristine / STORE_FILE)
                sandbox, url = start_sandbox(args.contacts, as_of, store, password)
                env["ELOQUA_LOGIN_URL"] = url
            log = root / f"{stage}.log"
            with log.open("w") as sink:
                started = time.monotonic()
                proc = subprocess.Popen([sys.executable, __file__, "--stage", stage, "--date", args.date.isoformat()],
                                        env=env, stdout=sink, stderr=subprocess.STDOUT)
                rss = PeakRss(proc.pid)
                code = proc.wait()
                seconds = time.monotonic() - started
                rss.stop()
            if code != 0:
                print(f"stage {stage} failed (exit {code}); see {log}", file=sys.stderr)
                return 1
            results.append((stage, seconds, rss))
    finally:
        sandbox.terminate()
        sandbox.wait(30)
    rows = _rows(lake_dir, args.date)
    print(f"{'stage':<8} {'wall':>8} {'rows':>12} {'rows/s':>10}  peak RSS (stage Python + JVM)")
    for stage, seconds, rss in results:
        print(f"{stage:<8} {seconds:7.1f}s {rows[stage]:>12,} {rows[stage] / seconds:>10,.0f}  "
              f"{rss.peak_total / 2**20:,.0f} MiB (Python {rss.peak_python / 2**20:,.0f}, "
              f"JVM {rss.peak_jvm / 2**20:,.0f})")
    total = sum(seconds for _, seconds, _ in results)
    print(f"{'night':<8} {total:7.1f}s   load average before {load_before[0]:.1f}, after {os.getloadavg()[0]:.1f}")
    for line in _load_split(lake_dir, args.date):
        print(f"  {line}")
    spark_log = (root / "spark.log").read_text(errors="replace")
    for line in re.findall(r"^night \S+: .*$", spark_log, re.M):
        print(f"  {line}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
