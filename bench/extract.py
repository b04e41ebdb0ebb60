"""Benchmark of the extract stage: sandbox contacts -> Parquet, beside the ceiling of plain downloading.

    .venv/bin/python bench/extract.py                       # 1,000,000 contacts, page 50000, concurrency 3
    .venv/bin/python bench/extract.py --transfer csv --data-dir /tmp/extract-bench   # CSV pages; keep the store
    .venv/bin/python bench/extract.py --contacts 100000     # quicker
    .venv/bin/python bench/extract.py --url http://127.0.0.1:PORT   # reuse a running sandbox

Starts a sandbox (``scc sandbox serve``; ``--data-dir`` keeps its store so a second run skips generating the
contacts), creates one export of the contract's contact fields and runs its sync, has the sandbox stage its
CSV encoding (timed apart), then measures, each phase in a fresh child process so that peak RSS is the phase's
own:

* ceiling, once per transfer format (JSON and CSV pages): every page of ``/syncs/{id}/data`` downloaded with
  the same client, page size and concurrency, bodies discarded unparsed;
* export: ``eloqua.export.export_to_parquet(..., transfer=--transfer)`` into a local temporary folder.

Prints rows/s of each, the export's ratio to the ceiling of its own format (the target's measure: the same
bytes downloaded, only the parsing added) and to the other format's ceiling, wall times and each phase's peak
RSS (``ru_maxrss``). Targets: export >= 60 % of the ceiling, peak RSS <= 300 MiB. Figures are recorded in
bench/README.md ("Extract").
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from concurrent.futures import FIRST_COMPLETED, ThreadPoolExecutor, wait
from contextlib import contextmanager
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from contract.objects import CONTACTS  # noqa: E402
from eloqua.client import EloquaClient  # noqa: E402
from eloqua.export import TRANSFERS, Transfer, arrow_schema, export_to_parquet, start_export  # noqa: E402
from eloqua.progress import NullProgress  # noqa: E402
from eloqua.settings import EloquaSettings  # noqa: E402

SITE, USER, PASSWORD = "SCCSandbox", "scc.api", "scc-sandbox"
MIB = 1024 * 1024


def peak_rss_bytes() -> int:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024  # KiB on Linux


def client_for(url: str, concurrency: int) -> EloquaClient:
    return EloquaClient(EloquaSettings.basic(SITE, USER, PASSWORD, login_url=url), pool_size=concurrency + 2)


@contextmanager
def sandbox(contacts: int, seed: int, data_dir: Path) -> Iterator[str]:
    scc = Path(sys.executable).parent / "scc"
    command = [str(scc)] if scc.exists() else [sys.executable, "-m", "luigi_tasks.cli"]
    argv = [*command, "sandbox", "serve", "--port", "0", "--contacts", str(contacts), "--seed", str(seed),
            "--sync-delay", "0", "--data-dir", str(data_dir)]
    started = time.monotonic()
    process = subprocess.Popen(argv, cwd=REPO, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True)
    try:
        line = process.stdout.readline() if process.stdout else ""
        prefix = "Eloqua sandbox listening on "
        if not line.startswith(prefix):
            raise SystemExit(f"bench: the sandbox did not start (exit {process.poll()}, said {line!r})")
        print(f"sandbox with {contacts:,} contacts ready in {time.monotonic() - started:.0f}s", flush=True)
        yield line[len(prefix):].strip()
    finally:
        process.terminate()
        try:
            process.wait(30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def make_sync(url: str) -> tuple[str, float, float]:
    """A finished sync of every contact: its uri, seconds to finish, seconds the sandbox took to stage CSV."""
    with client_for(url, 1) as client:
        started = start_export(client, CONTACTS, name="bench extract")
        t0 = time.monotonic()
        client.wait_for_sync(started.sync_uri, accept_warning=False, max_delay=2.0)
        sync_seconds = time.monotonic() - t0
        t0 = time.monotonic()
        client.get_sync_data_raw(started.sync_uri, limit=1, offset=0, csv=True)  # the sandbox encodes it once
        return started.sync_uri, sync_seconds, time.monotonic() - t0


def phase_ceiling(url: str, sync_uri: str, page_size: int, concurrency: int,
                  transfer: str = "json") -> dict[str, float]:
    """Download every page as ``transfer`` (JSON or CSV), bounded in flight like the export, without
    parsing."""
    with client_for(url, concurrency) as client:
        client.discover()
        t0 = time.monotonic()
        total = int(client.get_sync_data(sync_uri, limit=1)["totalResults"])
        offsets = iter(range(0, total, page_size))
        received = 0
        with ThreadPoolExecutor(concurrency) as pool:
            pending: set = set()
            while True:
                while len(pending) < concurrency and (offset := next(offsets, None)) is not None:
                    pending.add(pool.submit(client.get_sync_data_raw, sync_uri, limit=page_size,
                                            offset=offset, parse=len, csv=transfer == "csv"))
                if not pending:
                    break
                done, pending = wait(pending, return_when=FIRST_COMPLETED)
                received += sum(f.result() for f in done)
        seconds = time.monotonic() - t0
    return {"rows": total, "seconds": seconds, "bytes": received, "peak_rss": peak_rss_bytes()}


def phase_export(url: str, sync_uri: str, page_size: int, concurrency: int,
                 decoders: int | None = None, transfer: Transfer = "json") -> dict[str, float]:
    import pyarrow.fs as pafs
    import pyarrow.parquet as pq

    out = Path(tempfile.mkdtemp(prefix="bench-extract-"))
    try:
        with client_for(url, concurrency) as client:
            client.discover()
            t0 = time.monotonic()
            result = export_to_parquet(client, sync_uri, arrow_schema(CONTACTS), pafs.LocalFileSystem(),
                                       str(out / "stage"), page_size=page_size, concurrency=concurrency,
                                       decoders=decoders, progress=NullProgress(), transfer=transfer)
            seconds = time.monotonic() - t0
        rows = pq.ParquetDataset(str(out / "stage")).read(columns=["ContactId"]).num_rows
        size = sum(p.stat().st_size for p in (out / "stage").iterdir())
    finally:
        shutil.rmtree(out, ignore_errors=True)
    assert rows == result.total_rows, (rows, result.total_rows)
    return {"rows": result.total_rows, "seconds": seconds, "bytes": size, "peak_rss": peak_rss_bytes()}


def run_phase(name: str, url: str, sync_uri: str, args: argparse.Namespace, transfer: str) -> dict[str, float]:
    """Run one phase in a child process (its own peak RSS) and return its JSON figures."""
    argv = [sys.executable, __file__, "--phase", name, "--url", url, "--sync", sync_uri,
            "--page-size", str(args.page_size), "--concurrency", str(args.concurrency), "--transfer", transfer]
    if args.decoders:
        argv += ["--decoders", str(args.decoders)]
    answer = subprocess.run(argv, cwd=REPO, capture_output=True, text=True, check=False)
    if answer.returncode != 0:
        raise SystemExit(f"bench: phase {name} failed: {answer.stderr.strip()[-2000:]}")
    return json.loads(answer.stdout.strip().splitlines()[-1])


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--contacts", type=int, default=1_000_000)
    parser.add_argument("--seed", type=int, default=11)
    parser.add_argument("--page-size", type=int, default=50_000)
    parser.add_argument("--concurrency", type=int, default=3)
    parser.add_argument("--decoders", type=int, default=None, help="pages parsed at once (default: cpus/2)")
    parser.add_argument("--transfer", choices=TRANSFERS, default="json",
                        help="page format of the export (default json)")
    parser.add_argument("--rounds", type=int, default=1, help="ceiling/export rounds (best of each kept)")
    parser.add_argument("--data-dir", type=Path, default=None,
                        help="the sandbox's store, kept and reused (default: a temporary one)")
    parser.add_argument("--url", help="use this running sandbox instead of starting one")
    parser.add_argument("--phase", choices=("ceiling", "export"), help=argparse.SUPPRESS)
    parser.add_argument("--sync", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)

    if args.phase == "ceiling":
        print(json.dumps(phase_ceiling(args.url, args.sync, args.page_size, args.concurrency, args.transfer)))
        return 0
    if args.phase == "export":
        print(json.dumps(phase_export(args.url, args.sync, args.page_size, args.concurrency, args.decoders,
                                      args.transfer)))
        return 0

    if args.url:
        return report(args, args.url)
    if args.data_dir:
        with sandbox(args.contacts, args.seed, args.data_dir) as url:
            return report(args, url)
    with tempfile.TemporaryDirectory(prefix="bench-extract-") as tmp, \
            sandbox(args.contacts, args.seed, Path(tmp) / "sandbox") as url:
        return report(args, url)


def rate(figures: dict[str, float]) -> float:
    return figures["rows"] / figures["seconds"]


def report(args: argparse.Namespace, url: str) -> int:
    sync_uri, sync_seconds, csv_seconds = make_sync(url)
    try:
        return measure(args, url, sync_uri, sync_seconds, csv_seconds)
    finally:
        with client_for(url, 1) as client:
            client.delete_sync_data(sync_uri)  # ~650 MB staged per 1M-contact sync in a kept --data-dir


def measure(args: argparse.Namespace, url: str, sync_uri: str, sync_seconds: float, csv_seconds: float) -> int:
    print(f"sync {sync_uri} ready in {sync_seconds:.1f}s (sandbox CSV staging {csv_seconds:.1f}s more); "
          f"page size {args.page_size}, concurrency {args.concurrency}, export transfer {args.transfer}",
          flush=True)
    phases = [("ceiling", "json"), ("ceiling", "csv"), ("export", args.transfer)]
    results: dict[tuple[str, str], list[dict[str, float]]] = {phase: [] for phase in phases}
    for _ in range(args.rounds):
        for name, transfer in phases:
            figures = run_phase(name, url, sync_uri, args, transfer)
            results[(name, transfer)].append(figures)
            print(f"  {name:8s} {transfer:4s} {figures['rows']:>10,.0f} rows in {figures['seconds']:7.2f}s = "
                  f"{rate(figures):>10,.0f} rows/s, {figures['bytes'] / MIB:8.1f} MiB, "
                  f"peak RSS {figures['peak_rss'] / MIB:6.1f} MiB", flush=True)
    best = {phase: max(runs, key=rate) for phase, runs in results.items()}
    other = "csv" if args.transfer == "json" else "json"
    export = best[("export", args.transfer)]
    same, cross = best[("ceiling", args.transfer)], best[("ceiling", other)]
    ratio = rate(export) / rate(same)
    peak = max(f["peak_rss"] for f in results[("export", args.transfer)])
    for transfer in ("json", "csv"):
        ceiling = best[("ceiling", transfer)]
        print(f"ceiling {transfer}: {rate(ceiling):,.0f} rows/s "
              f"({ceiling['bytes'] / MIB / ceiling['seconds']:.0f} MiB/s, {ceiling['bytes'] / MIB:.0f} MiB)")
    print(f"export {args.transfer}: {rate(export):,.0f} rows/s = {ratio:.0%} of the {args.transfer} ceiling "
          f"(target >= 60%), {rate(export) / rate(cross):.0%} of the {other} ceiling")
    print(f"export wall {export['seconds']:.1f}s, peak RSS {peak / MIB:.0f} MiB (target <= 300 MiB); "
          f"cpus {os.cpu_count()}, load average {' '.join(f'{x:.1f}' for x in os.getloadavg())}")
    return 0 if ratio >= 0.6 and peak <= 300 * MIB else 1


if __name__ == "__main__":
    raise SystemExit(main())
