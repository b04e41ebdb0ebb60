"""Pipeline ``contact_washing`` (pipelines-spec 3.1): ISO country, state code and job level for changed
contacts.

Reads ``staged/contacts/run_date=D`` and ``conf/reference/*.csv``; writes
``import_ready/contact_washing/run_date=D`` (``EmailAddress, Country, StateProv, JobLevel``, only contacts
where one of them changes).

    spark-submit jobs/contact_washing.py --date 2026-11-27 --lake file:///srv/scc/lake

(with the project's virtualenv active, so the driver's ``python3`` has ``spark`` and ``contract``).
"""

from __future__ import annotations

import sys
from collections.abc import Sequence

from jobs._common import JobContext, run_job
from spark.washing import contact_washing_payload, wash_contacts

JOB = "contact_washing"


def _run(ctx: JobContext) -> None:
    contacts = ctx.staged_contacts()
    payload = contacts.transform(wash_contacts(*ctx.reference())).transform(contact_washing_payload)
    ctx.write(payload, ctx.lake.import_ready(JOB, ctx.run_date))


def main(argv: Sequence[str] | None = None) -> int:
    return run_job(JOB, __doc__, argv, _run)


if __name__ == "__main__":
    sys.exit(main())
