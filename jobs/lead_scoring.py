"""Pipeline ``lead_scoring`` (pipelines-spec 3.3): profile + engagement scores and ``LeadRating`` per contact.

Reads ``staged/contacts/run_date=D``, ``conf/reference/*.csv`` (the 3.1 rules give ``job_level`` and
``country_iso`` of this run) and ``raw/activities`` of the types ``EmailOpen``, ``EmailClickthrough``,
``FormSubmit`` and ``WebVisit`` for the 90 days ``D-89 … D`` (every partition must be complete); settings from
``[lead_scoring]`` of ``--settings``. Writes ``import_ready/lead_scoring/run_date=D``
(``EmailAddress, LeadRating, ProfileScore, EngagementScore``, only contacts where one of them changes).

    spark-submit jobs/lead_scoring.py --date 2026-11-27 --lake file:///srv/scc/lake

(with the project's virtualenv active, so the driver's ``python3`` has ``spark`` and ``contract``).
"""

from __future__ import annotations

import sys
from collections.abc import Sequence

from pyspark.sql import DataFrame

from jobs._common import JobContext, run_job
from spark.columns import lookback_days
from spark.lead_scoring import SCORED_ACTIVITY_TYPES, lead_scoring_payload, with_lead_scores
from spark.washing import wash_contacts

JOB = "lead_scoring"


def scored_contacts(ctx: JobContext) -> DataFrame:
    """The washed contacts of D with this run's ``lead_rating`` (shared with ``campaign_responses``)."""
    settings = ctx.settings.lead_scoring
    contacts = ctx.staged_contacts()
    activities = ctx.activities(SCORED_ACTIVITY_TYPES, lookback_days(ctx.run_date, settings.lookback_days))
    return contacts.transform(wash_contacts(*ctx.reference())).transform(
        with_lead_scores(activities, ctx.run_date, settings)
    )


def _run(ctx: JobContext) -> None:
    payload = scored_contacts(ctx).transform(lead_scoring_payload)
    ctx.write(payload, ctx.lake.import_ready(JOB, ctx.run_date))


def main(argv: Sequence[str] | None = None) -> int:
    return run_job(JOB, __doc__, argv, _run)


if __name__ == "__main__":
    sys.exit(main())
