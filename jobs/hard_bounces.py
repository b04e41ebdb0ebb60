"""Pipeline ``hard_bounces`` (docs/data-contract.md 3.2): ``HardBouncedAt``/``IsBounced`` for contacts that
hard-bounced on D.

Reads ``raw/activities/activity_type=Bounceback/activity_date=D`` and ``staged/contacts/run_date=D``; writes
``import_ready/hard_bounces/run_date=D`` (``EmailAddress, HardBouncedAt, IsBounced``) and
``quarantine/hard_bounces/run_date=D`` (``ContactId``, those columns, ``reason``: the rows whose EmailAddress
is invalid or shared by several contacts, which are not loaded). Hard bounces that match no contact are
dropped and counted (``unmatched_hard_bounces`` in the summary line and ``_metrics.json``).

    spark-submit jobs/hard_bounces.py --date 2026-11-27 --lake file:///srv/scc/lake

(with the project's virtualenv active, so the driver's ``python3`` has ``spark`` and ``contract``).
"""

from __future__ import annotations

import sys
from collections.abc import Sequence

from jobs._common import JobContext, run_job
from spark.columns import day_window
from spark.hard_bounces import BOUNCEBACK, hard_bounces_rows, unmatched_hard_bounces
from spark.washing import loadable_rows, quarantined_rows

JOB = "hard_bounces"


def _run(ctx: JobContext) -> None:
    contacts = ctx.staged_contacts()
    bounces = ctx.activities([BOUNCEBACK], [ctx.run_date])
    window = day_window(ctx.run_date)
    unmatched = int(bounces.transform(unmatched_hard_bounces(contacts, window)).count())
    print(f"{JOB} {ctx.run_date}: dropped {unmatched} hard bounces that match no contact", flush=True)
    rows = bounces.transform(hard_bounces_rows(contacts, window)).cache()
    try:
        ctx.write(rows.transform(quarantined_rows(JOB)), ctx.lake.quarantine(JOB, ctx.run_date))
        ctx.write(rows.transform(loadable_rows(JOB)), ctx.lake.import_ready(JOB, ctx.run_date),
                  unmatched_hard_bounces=unmatched)
    finally:
        rows.unpersist()


def main(argv: Sequence[str] | None = None) -> int:
    return run_job(JOB, __doc__, argv, _run)


if __name__ == "__main__":
    sys.exit(main())
