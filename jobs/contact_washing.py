"""Pipeline ``contact_washing`` (docs/data-contract.md 3.1): ISO country, state code and job level for changed
contacts.

Reads ``staged/contacts/run_date=D`` and ``conf/reference/*.csv``; writes
``import_ready/contact_washing/run_date=D`` (``EmailAddress, Country, StateProv, JobLevel``, only contacts
where one of them changes) and ``quarantine/contact_washing/run_date=D`` (``ContactId``, those columns,
``reason``: the rows whose EmailAddress is invalid or shared by several contacts, which are not loaded).

    spark-submit jobs/contact_washing.py --date 2026-11-27 --lake file:///srv/scc/lake

(with the project's virtualenv active, so the driver's ``python3`` has ``spark`` and ``contract``).
"""

from __future__ import annotations

import sys
from collections.abc import Sequence

from jobs._common import JobContext, run_job
from spark.washing import contact_washing_rows, loadable_rows, quarantined_rows, wash_contacts

JOB = "contact_washing"


def _run(ctx: JobContext) -> None:
    rows = contact_washing_rows(ctx.staged_contacts().transform(wash_contacts(*ctx.reference()))).cache()
    try:
        ctx.write(rows.transform(quarantined_rows(JOB)), ctx.lake.quarantine(JOB, ctx.run_date))
        ctx.write(rows.transform(loadable_rows(JOB)), ctx.lake.import_ready(JOB, ctx.run_date))
    finally:
        rows.unpersist()


def main(argv: Sequence[str] | None = None) -> int:
    return run_job(JOB, __doc__, argv, _run)


if __name__ == "__main__":
    sys.exit(main())
