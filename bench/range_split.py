"""Memory and speed of an activity range's split into one file per day (eloqua.export.split_by_day).

    .venv/bin/python bench/range_split.py                          # 4,000,000 rows over 90 days, 32 MiB buffer
    .venv/bin/python bench/range_split.py --buffer-mib 16 --buffer-mib 64

Writes the range's pages first (80 pages of 50,000 EmailSend rows, as an extract stages them, with seeded
random dates over the 90 days, contact ids and assets), then splits them the way a range extract does, reading
them with lake.storage.read_batches, each buffer size in its own process so that every peak RSS (VmHWM) starts
from the same interpreter. Prints rows/s, wall time, the peak RSS above the process's state after its imports,
and the row groups written. Figures: bench/README.md, "The range split".
"""

from __future__ import annotations

import argparse
import datetime as dt
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

FIRST_DAY = dt.date(2026, 8, 29)
DAYS = 90
PAGE_ROWS = 50_000


def write_pages(folder: Path, pages: int) -> None:
    schema = arrow_schema(ACTIVITIES)
    rng = np.random.default_rng(1)
    start = np.datetime64(FIRST_DAY.isoformat(), "us")
    folder.mkdir(parents=True, exist_ok=True)
    for page in range(pages):
        contacts = rng.integers(1, 1_000_001, PAGE_ROWS)
        assets = rng.integers(1000, 1200, PAGE_ROWS)
        seconds = rng.integers(0, DAYS * 86_400, PAGE_ROWS).astype("timedelta64[s]")
        table = pa.table({
            "ActivityId": np.arange(page * PAGE_ROWS, (page + 1) * PAGE_ROWS).astype(str),
            "ActivityType": ["EmailSend"] * PAGE_ROWS,
            "ActivityDate": pa.array(start + seconds.astype("timedelta64[us]"), pa.timestamp("us", tz="UTC")),
            "ContactId": contacts.astype(str),
            "EmailAddress": [f"contact{c}@example{c % 97}.com" for c in contacts],
            "AssetId": assets.astype(str),
            "AssetName": [f"Newsletter {a} - November edition" for a in assets],
            "CampaignId": (assets % 50).astype(str),
            "SmtpErrorCode": pa.nulls(PAGE_ROWS, pa.string()),
            "SmtpStatusCode": pa.nulls(PAGE_ROWS, pa.string()),
        }, schema=schema)
        pq.write_table(table, folder / part_name(page * PAGE_ROWS))


def peak_rss_mib() -> float:
    """This process's VmHWM (getrusage's maxrss would carry the parent's over the exec)."""
    status = Path("/proc/self/status").read_text()
    return int(next(line for line in status.splitlines() if line.startswith("VmHWM:")).split()[1]) / 1024


def split_once(pages: Path, out: Path, buffer_mib: int) -> None:
    """Run in a process of its own: one split, its figures printed."""
    schema = arrow_schema(ACTIVITIES)
    paths = sorted(str(p) for p in pages.glob("part-*.parquet"))
    days = [FIRST_DAY + dt.timedelta(days=i) for i in range(DAYS)]
    base = peak_rss_mib()
    started = time.monotonic()
    done = split_by_day(read_batches(pafs.LocalFileSystem(), paths, schema=schema), schema, "ActivityDate", days,
                        str(out), buffer_mib << 20)
    wall = time.monotonic() - started
    peak = peak_rss_mib()
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
