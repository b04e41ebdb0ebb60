"""The performance targets in one table: runs the benchmarks that measure them and prints, per target, the
figure measured here next to the target.

    .venv/bin/python bench/targets.py                    # every target at its own size (about an hour here)
    .venv/bin/python bench/targets.py --only small-night --only spark-duckdb
    .venv/bin/python bench/targets.py --keep /tmp/targets   # sandbox stores and lakes kept for reruns

Each measure runs its own benchmark in a child process, exactly as one would by hand, and reads the figure
from that benchmark's printed lines (the benchmark's whole output is saved beside it under ``--keep``):

* ``spark-duckdb``: ``bench/duckdb_baseline.py`` at 1M contacts / 10M activities, the five transform jobs as
  one Spark application against the same rules in DuckDB, both processes' wall time (start-up included);
* ``small-night``: ``bench/nightly.py --contacts 3000``, extract + Spark + load after the sandbox is up;
* ``whole-night``: ``bench/nightly.py --contacts 1000000``, the same at production size;
* ``extract``: ``bench/extract.py --transfer json`` at 1M contacts: rows/s and the export's peak RSS.

The machine's load average is printed before and after: figures taken on a busy machine are upper bounds.
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

BENCH = Path(__file__).resolve().parent


@dataclass(frozen=True)
class Target:
    name: str
    measure: str
    target: str
    command: Callable[[Path], list[str]]
    # reads (figure shown, met?) from the benchmark's output
    read: Callable[[str], tuple[str, bool]]


def _number(pattern: str, text: str) -> float:
    found = re.search(pattern, text, re.M)
    if found is None:
        raise ValueError(f"no line matching {pattern!r} in the benchmark's output")
    return float(found.group(1).replace(",", ""))


def _spark_duckdb(text: str) -> tuple[str, bool]:
    ratio = _number(r"^total \(processes\)\s+\S+\s+\S+\s+([\d.]+)", text)
    spark = _number(r"^total \(processes\)\s+([\d.]+)", text)
    duck = _number(r"^total \(processes\)\s+\S+\s+([\d.]+)", text)
    same = "NO:" not in text
    return f"{ratio:.1f}x ({spark:.0f} s vs {duck:.0f} s){'' if same else ', ROWS DIFFER'}", ratio <= 4 and same


def _night(limit_seconds: float) -> Callable[[str], tuple[str, bool]]:
    def read(text: str) -> tuple[str, bool]:
        night = _number(r"^night\s+([\d.]+)s", text)
        stages = ", ".join(f"{m[1]} {float(m[2]):.0f} s" for m in re.finditer(r"^(extract|spark|load)\s+([\d.]+)s",
                                                                             text, re.M))
        return f"{night:.0f} s ({stages})", night <= limit_seconds
    return read


def _extract(text: str) -> tuple[str, bool]:
    rows = _number(r"^export json: ([\d,]+) rows/s", text)
    rss = _number(r"peak RSS ([\d.]+) MiB \(target", text)
    return f"{rows:,.0f} rows/s; {rss:.0f} MiB", rows >= 400_000 and rss <= 256


TARGETS = (
    Target("spark-duckdb", "Spark snapshot + 4 jobs / DuckDB, 1M contacts, 10M activities, local[2]", "<= 4x",
           lambda keep: [str(BENCH / "duckdb_baseline.py"), "--keep", str(keep / "duckdb-1m")], _spark_duckdb),
    Target("small-night", "a night for 3,000 contacts after the sandbox is up", "<= 30 s",
           lambda keep: [str(BENCH / "nightly.py"), "--contacts", "3000", "--keep", str(keep / "night-3k")],
           _night(30)),
    Target("whole-night", "whole night, 1M contacts, 2 cores", "<= 10 min",
           lambda keep: [str(BENCH / "nightly.py"), "--contacts", "1000000", "--keep", str(keep / "night-1m")],
           _night(600)),
    Target("extract", "extract JSON rows/s at 1M contacts; peak RSS", ">= 400k; <= 256 MiB",
           lambda keep: [str(BENCH / "extract.py"), "--transfer", "json", "--rounds", "2",
                         "--data-dir", str(keep / "extract-1m")], _extract),
)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--only", action="append", choices=[t.name for t in TARGETS],
                        help="measure only these targets (repeatable)")
    parser.add_argument("--keep", type=Path, help="folder for the benchmarks' data and outputs (kept)")
    args = parser.parse_args(argv)
    keep = args.keep.resolve() if args.keep else Path(tempfile.mkdtemp(prefix="scc-targets-"))
    keep.mkdir(parents=True, exist_ok=True)
    chosen = [t for t in TARGETS if not args.only or t.name in args.only]
    print(f"load average before {os.getloadavg()[0]:.1f}, {os.cpu_count()} CPUs; outputs in {keep}", flush=True)
    rows = []
    for target in chosen:
        began = time.monotonic()
        output = keep / f"{target.name}.out"
        with output.open("w") as sink:
            code = subprocess.run([sys.executable, *target.command(keep)], stdout=sink, stderr=subprocess.STDOUT,
                                  check=False).returncode
        text = output.read_text(errors="replace")
        try:
            figure, met = target.read(text)
        except ValueError as exc:
            figure, met = f"no figure (exit {code}: {exc}); see {output}", False
        print(f"{target.name}: {figure} in {time.monotonic() - began:.0f} s of benchmark", flush=True)
        rows.append((target, figure, met))
    print()
    print("| measure | target | measured here | met |\n|---|---|---|---|")
    for target, figure, met in rows:
        print(f"| {target.measure} | {target.target} | {figure} | {'yes' if met else 'no'} |")
    print(f"\nload average after {os.getloadavg()[0]:.1f}")
    return 0 if all(met for _, _, met in rows) else 1


if __name__ == "__main__":
    raise SystemExit(main())
