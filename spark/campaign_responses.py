"""``campaign_responses`` (spec 3.4): enrich the day's Campaign Responses with Salesforce campaign data, the
normalised status and the contact's lead rating of this run; hold back responses whose campaign is unknown.

:func:`enrich_campaign_responses` computes every row once (``reason`` is null for loadable rows); the payload
and the quarantine are two filters of it.
"""

from __future__ import annotations

from collections.abc import Callable

from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F

from spark.columns import TimeWindow, any_differs, is_blank, normalized_email, response_status_key
from spark.schemas import PAYLOAD_SCHEMAS, QUARANTINE_CAMPAIGN_RESPONSES, QUARANTINE_REASON
from spark.staging import conform_to, keep_one_row_per

Transform = Callable[[DataFrame], DataFrame]

STATUS_VALUES = ("Responded", "Attended", "Registered", "No Show", "Other")
_STATUS_BY_KEY = {
    "responded": "Responded",
    "attended": "Attended",
    "registered": "Registered",
    "no show": "No Show",
    "noshow": "No Show",
}
OTHER_STATUS = "Other"

REASON_NULL_CAMPAIGN_ID = "CampaignId is null"
REASON_UNKNOWN_CAMPAIGN_ID = "CampaignId matches no Salesforce campaign"


def normalized_response_status(status: Column) -> Column:
    """``Responded``, ``Attended``, ``Registered``, ``No Show`` or ``Other`` (null and anything unknown)."""
    key = response_status_key(status)
    result: Column | None = None
    for raw, value in _STATUS_BY_KEY.items():
        result = F.when(key == raw, value) if result is None else result.when(key == raw, value)
    assert result is not None
    return result.otherwise(OTHER_STATUS)


def lead_rating_per_email(scored_contacts: DataFrame) -> DataFrame:
    """``(_email, _lead_rating)``: one row per non-blank normalised email of the scored contacts.

    When several contacts share an email, the one updated last wins (then the highest ContactId string).
    """
    return (
        scored_contacts.filter(~is_blank(F.col("EmailAddress")))
        .select(
            normalized_email(F.col("EmailAddress")).alias("_email"),
            F.col("lead_rating").alias("_lead_rating"),
            F.col("UpdatedAt").alias("_updated_at"),
            F.col("ContactId").alias("_contact_id"),
        )
        .transform(
            keep_one_row_per(
                ["_email"], [F.col("_updated_at").desc_nulls_last(), F.col("_contact_id").desc_nulls_last()]
            )
        )
        .select("_email", "_lead_rating")
    )


def enrich_campaign_responses(
    campaigns: DataFrame, scored_contacts: DataFrame, window: TimeWindow
) -> Transform:
    """Staged responses -> the responses with ``RespondedAt`` in ``window``, each with ``campaign_name``,
    ``campaign_type``, ``lead_rating_at_response`` (null when no contact matches
    ``lower(trim(ContactEmail))``), ``status_normalized`` and ``reason`` (why it is quarantined; null when it
    can be loaded).

    ``campaigns`` are staged Salesforce Campaigns (one row per CampaignId); ``scored_contacts`` carry
    ``lead_rating`` from :func:`spark.lead_scoring.with_lead_scores`.
    """

    def transform(responses: DataFrame) -> DataFrame:
        campaign_lookup = campaigns.select(
            F.col("CampaignId").alias("_campaign_id"),
            F.col("CampaignName").alias("campaign_name"),
            F.col("CampaignType").alias("campaign_type"),
        )
        ratings = lead_rating_per_email(scored_contacts)
        return (
            responses.filter(window.contains(F.col("RespondedAt")))
            .join(campaign_lookup, F.col("CampaignId") == F.col("_campaign_id"), "left")
            .join(ratings, normalized_email(F.col("ContactEmail")) == F.col("_email"), "left")
            .withColumn("lead_rating_at_response", F.col("_lead_rating"))
            .withColumn("status_normalized", normalized_response_status(F.col("ResponseStatus")))
            .withColumn(
                QUARANTINE_REASON,
                F.when(F.col("CampaignId").isNull(), REASON_NULL_CAMPAIGN_ID).when(
                    F.col("_campaign_id").isNull(), REASON_UNKNOWN_CAMPAIGN_ID
                ),
            )
            .drop("_campaign_id", "_email", "_lead_rating")
        )

    return transform


def campaign_responses_payload(enriched: DataFrame) -> DataFrame:
    """The ``campaign_responses`` import rows: loadable responses whose CampaignName, CampaignType,
    LeadRatingAtResponse or StatusNormalized differs (null-safe) from the values the export carried."""
    changed = any_differs(
        [
            (F.col("campaign_name"), F.col("CampaignName")),
            (F.col("campaign_type"), F.col("CampaignType")),
            (F.col("lead_rating_at_response"), F.col("LeadRatingAtResponse")),
            (F.col("status_normalized"), F.col("StatusNormalized")),
        ]
    )
    return (
        enriched.filter(F.col(QUARANTINE_REASON).isNull() & changed)
        .select(
            F.col("ResponseId"),
            F.col("campaign_name").alias("CampaignName"),
            F.col("campaign_type").alias("CampaignType"),
            F.col("lead_rating_at_response").alias("LeadRatingAtResponse"),
            F.col("status_normalized").alias("StatusNormalized"),
        )
        .transform(conform_to(PAYLOAD_SCHEMAS["campaign_responses"]))
    )


def campaign_responses_quarantine(enriched: DataFrame) -> DataFrame:
    """The held-back responses: their raw columns as exported plus ``reason``."""
    return enriched.filter(F.col(QUARANTINE_REASON).isNotNull()).transform(
        conform_to(QUARANTINE_CAMPAIGN_RESPONSES)
    )
