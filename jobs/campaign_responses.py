"""Pipeline ``campaign_responses`` (docs/data-contract.md 3.4): enrich the day's Campaign Responses; quarantine
unknowns.

Reads ``raw/campaign_responses/run_date=D``, ``raw/sfdc_campaigns/run_date=D`` and everything ``lead_scoring``
reads: the lead ratings of this run are recomputed with the same library functions
(``import_ready/lead_scoring`` only holds the contacts whose rating changed, so it cannot serve as the rating
of every contact). Writes ``import_ready/campaign_responses/run_date=D`` (``ResponseId, CampaignName,
CampaignType, LeadRatingAtResponse, StatusNormalized``) and ``quarantine/campaign_responses/run_date=D`` (the
raw columns + ``reason``).

    spark-submit jobs/campaign_responses.py --date 2026-11-27 --lake file:///srv/scc/lake

(with the project's virtualenv active, so the driver's ``python3`` has ``spark`` and ``contract``).
"""

from __future__ import annotations

import sys
from collections.abc import Sequence

from jobs._common import JobContext, run_job
from spark.campaign_responses import (
    campaign_responses_payload,
    campaign_responses_quarantine,
    enrich_campaign_responses,
)
from spark.columns import day_window
from spark.schemas import RAW_CAMPAIGN_RESPONSES, RAW_SFDC_CAMPAIGNS
from spark.staging import stage_campaign_responses, stage_sfdc_campaigns

JOB = "campaign_responses"


def _run(ctx: JobContext) -> None:
    responses = stage_campaign_responses(ctx.custom_object("campaign_responses", RAW_CAMPAIGN_RESPONSES))
    campaigns = stage_sfdc_campaigns(ctx.custom_object("sfdc_campaigns", RAW_SFDC_CAMPAIGNS))
    enriched = responses.transform(
        enrich_campaign_responses(campaigns, ctx.scored_contacts(), day_window(ctx.run_date))
    ).cache()
    try:
        responses_of_day = int(enriched.count())
        quarantined = ctx.write(
            enriched.transform(campaign_responses_quarantine),
            ctx.lake.quarantine(JOB, ctx.run_date),
            responses_of_day=responses_of_day,
        )
        ctx.write(
            enriched.transform(campaign_responses_payload),
            ctx.lake.import_ready(JOB, ctx.run_date),
            responses_of_day=responses_of_day,
            quarantined=quarantined,
        )
    finally:
        enriched.unpersist()


def main(argv: Sequence[str] | None = None) -> int:
    return run_job(JOB, __doc__, argv, _run)


if __name__ == "__main__":
    sys.exit(main())
