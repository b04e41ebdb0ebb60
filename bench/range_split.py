"""Memory and speed of an activity range's split into one file per day (eloqua.export.split_by_day).

    .venv/bin/python bench/range_split.py                          # 4,000,000 rows over 90 days, 32 MiB buffer
    .venv/bin/python bench/range_split.py --buffer-mib 16 --buffer-mib 64

Writes the range's pages first (80 pages of 50,000 EmailSend rows as an extract stages them: bench/spark_jobs.py's
generator spread evenly over the 90 days, in a seeded random order), then splits them the way a range extract
does, reading them with lake.storage.read_batches, each buffer size in its own process so that every peak RSS
(VmHWM) starts from the same interpreter. Prints rows/s, wall time, the peak RSS above the process's state after
its imports, and the row groups written. Figures: bench/README.md, "The range split".
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.fs as pafs
import pyarrow.parquet as pq

from contract.objects import ACTIVITIES
from eloqua.export import arrow_schema, part_name, split_by_day
from lake.storage import read_batches

sys.path.insert(0, str(Path(__file__).resolve().parent))
from sandbox_data import peak_rss_mb
from spark_jobs import SEED, activities_table

FIRST_DAY = dt.date(2026, 8, 29)
DAYS = 90
PAGE_ROWS = 50_000


def write_pages(folder: Path, pages: int) -> None:
    """``pages`` pages of EmailSend rows spread evenly over the range's days (bench/spark_jobs.py's
    generator), in a seeded random order: an activity sync's pages are not sorted by date."""
    rng = np.random.default_rng(SEED)
    rows = pages * PAGE_ROWS
    per_day = [rows // DAYS + (i < rows % DAYS) for i in range(DAYS)]
    days = [activities_table(rng, n, "EmailSend", FIRST_DAY + dt.timedelta(days=i), 1_000_000, 1 + sum(per_day[:i]))
            for i, n in enumerate(per_day)]
    shuffled = pa.concat_tables(days).take(pa.array(rng.permutation(rows)))
    folder.mkdir(parents=True, exist_ok=True)
    for offset in range(0, rows, PAGE_ROWS):
        pq.write_table(shuffled.slice(offset, PAGE_ROWS), folder / part_name(offset))


def split_once(pages: Path, out: Path, buffer_mib: int) -> None:
    """Run in a process of its own: one split, its figures printed."""
    schema = arrow_schema(ACTIVITIES)
    paths = sorted(str(p) for p in pages.glob("part-*.parquet"))
    days = [FIRST_DAY + dt.timedelta(days=i) for i in range(DAYS)]
    base = peak_rss_mb(os.getpid())  # VmHWM: getrusage's maxrss would carry the parent's over the exec
    started = time.monotonic()
    done = split_by_day(read_batches(pafs.LocalFileSystem(), paths, schema=schema), schema, "ActivityDate", days,
                        str(out), buffer_mib << 20)
    wall = time.monotonic() - started
    peak = peak_rss_mb(os.getpid())
    rows = sum(done.day_rows.values())
    row_groups = sum(pq.ParquetFile(p).num_row_groups for p in out.glob("*/*.parquet"))
    print(f"buffer {buffer_mib:>3} MiB: {rows:,} rows in {wall:.1f} s ({rows / wall:,.0f} rows/s), "
          f"peak RSS {peak:.0f} MiB (+{peak - base:.0f} above the imports), {row_groups} row groups in "
          f"{len(done.day_rows)} day files, {done.outside} rows outside")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--pages", type=int, default=80, help=f"pages of {PAGE_ROWS:,} rows (80)")
    parser.add_argument("--buffer-mib", type=int, action="append", help="split buffer, MiB (repeatable; 32)")
    parser.add_argument("--split", nargs=3, metavar=("PAGES", "OUT", "MIB"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.split:
        split_once(Path(args.split[0]), Path(args.split[1]), int(args.split[2]))
        return
    with tempfile.TemporaryDirectory(prefix="scc-range-split-") as work:
        pages = Path(work) / "pages"
        write_pages(pages, args.pages)
        print(f"{args.pages * PAGE_ROWS:,} rows in {args.pages} pages over {DAYS} days")
        for mib in args.buffer_mib or [32]:
            subprocess.run([sys.executable, __file__, "--split", str(pages), f"{work}/split-{mib}", str(mib)],
                           check=True)


if __name__ == "__main__":
    main()
