"""Stage ``contacts_snapshot``: the contacts snapshot for data day D (docs/data-contract.md section 2).

Reads ``raw/contacts/run_date=D`` (the full export on a first run, else the day's increment), the latest
complete ``staged/contacts`` snapshot before D and any raw exports of the days in between; writes
``staged/contacts/run_date=D``: per ContactId the latest row by UpdatedAt with ``UpdatedAt < D+1``.
``--full-refresh`` ignores earlier snapshots (D's raw export is then a full re-export).

    spark-submit jobs/contacts_snapshot.py --date 2026-11-27 --lake file:///srv/scc/lake [--full-refresh]

(with the project's virtualenv active, so the driver's ``python3`` has ``spark`` and ``contract``).
"""

from __future__ import annotations

import sys
from collections.abc import Sequence

from jobs._common import JobContext, argument_parser, run_job
from spark.schemas import RAW_CONTACTS
from spark.staging import build_contacts_snapshot

JOB = "contacts_snapshot"


def _run(ctx: JobContext) -> None:
    lake, run_date = ctx.lake, ctx.run_date
    ctx.require([lake.raw_contacts(run_date)], "the contacts export")
    previous_day = None
    if not ctx.args.full_refresh:
        earlier = [d for d in ctx.run_dates_under(lake.staged_contacts_root()) if d < run_date]
        previous_day = earlier[-1] if earlier else None
    raw_days = [run_date]
    if previous_day is not None:
        # Increments of days between the previous snapshot and D that exist can only add newer rows.
        raw_root = lake.raw_contacts_root()
        raw_days = [d for d in ctx.run_dates_under(raw_root) if previous_day < d < run_date] + [run_date]
    exports = [ctx.read_parquet([lake.raw_contacts(d)], RAW_CONTACTS) for d in raw_days]
    previous = None
    if previous_day is not None:
        previous = ctx.read_parquet([lake.staged_contacts(previous_day)], RAW_CONTACTS)
    snapshot = build_contacts_snapshot(run_date, exports, previous)
    ctx.write(
        snapshot,
        lake.staged_contacts(run_date),
        previous_snapshot=None if previous_day is None else previous_day.isoformat(),
        raw_exports=[d.isoformat() for d in raw_days],
    )


def main(argv: Sequence[str] | None = None) -> int:
    parser = argument_parser(JOB, __doc__)
    parser.add_argument(
        "--full-refresh", action="store_true", help="ignore earlier snapshots: D's raw export is a full one"
    )
    return run_job(JOB, __doc__, argv, _run, parser)


if __name__ == "__main__":
    sys.exit(main())
