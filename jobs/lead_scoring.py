"""Pipeline ``lead_scoring`` (docs/data-contract.md 3.3): profile + engagement scores and ``LeadRating`` per contact.

Reads ``staged/contacts/run_date=D``, ``conf/reference/*.csv`` (the 3.1 rules give ``job_level`` and
``country_iso`` of this run) and ``raw/activities`` of the types ``EmailOpen``, ``EmailClickthrough``,
``FormSubmit`` and ``WebVisit`` for the 90 days ``D-89 … D`` (every partition must be complete); settings from
``[lead_scoring]`` of ``--settings``. Writes ``import_ready/lead_scoring/run_date=D``
(``EmailAddress, LeadRating, ProfileScore, EngagementScore``, only contacts where one of them changes) and
``quarantine/lead_scoring/run_date=D`` (``ContactId``, those columns, ``reason``: the rows whose EmailAddress
is invalid or shared by several contacts, which are not loaded).

    spark-submit jobs/lead_scoring.py --date 2026-11-27 --lake file:///srv/scc/lake

(with the project's virtualenv active, so the driver's ``python3`` has ``spark`` and ``contract``).
"""

from __future__ import annotations

import sys
from collections.abc import Sequence

from jobs._common import JobContext, run_job
from spark.lead_scoring import lead_scoring_rows
from spark.washing import loadable_rows, quarantined_rows

JOB = "lead_scoring"


def _run(ctx: JobContext) -> None:
    rows = lead_scoring_rows(ctx.scored_contacts()).cache()
    try:
        ctx.write(rows.transform(quarantined_rows(JOB)), ctx.lake.quarantine(JOB, ctx.run_date))
        ctx.write(rows.transform(loadable_rows(JOB)), ctx.lake.import_ready(JOB, ctx.run_date))
    finally:
        rows.unpersist()


def main(argv: Sequence[str] | None = None) -> int:
    return run_job(JOB, __doc__, argv, _run)


if __name__ == "__main__":
    sys.exit(main())
