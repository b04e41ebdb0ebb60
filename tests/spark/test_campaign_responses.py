"""``campaign_responses`` (spec 3.4): campaign join, status, lead rating at response, quarantine."""

from __future__ import annotations

import pytest
from chispa import assert_df_equality
from pyspark.sql import functions as F

from spark.campaign_responses import (
    REASON_NULL_CAMPAIGN_ID,
    REASON_UNKNOWN_CAMPAIGN_ID,
    campaign_responses_payload,
    campaign_responses_quarantine,
    enrich_campaign_responses,
    normalized_response_status,
)
from spark.columns import day_window
from spark.schemas import PAYLOAD_SCHEMAS, QUARANTINE_CAMPAIGN_RESPONSES
from tests.spark.builders import D, campaigns, contacts, frame, responses, ts

pytestmark = pytest.mark.spark

WINDOW = day_window(D)

STATUS_CASES = [
    ("Responded", "Responded"),
    ("  ATTENDED ", "Attended"),
    ("registered", "Registered"),
    ("No Show", "No Show"),
    ("no-show", "No Show"),  # hyphen folded to a space
    ("NO_SHOW", "No Show"),  # underscore folded to a space
    ("No   -  Show", "No Show"),  # a run of spaces and dashes is one space
    ("noshow", "No Show"),
    ("Registered-", "Other"),  # the spec folds after trimming: the trailing space matches none of the values
    ("Attending", "Other"),
    ("", "Other"),
    (None, "Other"),
]


def test_normalized_response_status_folds_separators_and_maps_the_five_values(spark) -> None:
    df = spark.createDataFrame([(s,) for s, _ in STATUS_CASES], "ResponseStatus string")
    expected = spark.createDataFrame(STATUS_CASES, "ResponseStatus string, status string")
    actual = df.withColumn("status", normalized_response_status(F.col("ResponseStatus")))
    assert_df_equality(actual, expected, ignore_nullable=True)


@pytest.fixture(scope="module")
def sfdc(spark):
    return campaigns(
        spark,
        {"CampaignId": "C1", "CampaignName": "Summit", "CampaignType": "Event", "IsActive": True},
        {"CampaignId": "C2", "CampaignName": "Webinar", "CampaignType": "Webinar", "IsActive": False},
    )


@pytest.fixture(scope="module")
def scored(spark):
    """Contacts as ``with_lead_scores`` leaves them (only the columns the rule reads matter)."""
    return contacts(
        spark,
        {"ContactId": "1", "EmailAddress": "Ann@X.com", "UpdatedAt": ts("2026-11-01 00:00:00")},
        {"ContactId": "2", "EmailAddress": " bob@x.com", "UpdatedAt": ts("2026-11-01 00:00:00")},
        # two contacts share an email: the one updated last gives the rating
        {"ContactId": "3", "EmailAddress": "dup@x.com", "UpdatedAt": ts("2026-11-01 00:00:00")},
        {"ContactId": "4", "EmailAddress": "DUP@x.com", "UpdatedAt": ts("2026-11-02 00:00:00")},
        {"ContactId": "5", "EmailAddress": "  ", "UpdatedAt": ts("2026-11-02 00:00:00")},
    ).withColumn(
        "lead_rating",
        F.create_map(
            *[F.lit(x) for kv in {"1": "A1", "2": "C4", "3": "D4", "4": "B2", "5": "A1"}.items() for x in kv]
        )[F.col("ContactId")],
    )


def _response(
    rid: str,
    campaign: str | None,
    email: str | None = "ann@x.com",
    status: str | None = "Responded",
    at: str = "2026-11-27 10:00:00",
    **extra,
) -> dict:
    return {
        "ResponseId": rid,
        "ContactEmail": email,
        "CampaignId": campaign,
        "ResponseStatus": status,
        "RespondedAt": ts(at),
        **extra,
    }


def _payload(spark, *rows: tuple):
    names = PAYLOAD_SCHEMAS["campaign_responses"].fieldNames()
    return frame(
        spark, PAYLOAD_SCHEMAS["campaign_responses"], [dict(zip(names, r, strict=True)) for r in rows]
    )


def _enrich(spark, sfdc, scored, *rows: dict):
    return responses(spark, *rows).transform(enrich_campaign_responses(sfdc, scored, WINDOW))


def test_campaign_responses_join_the_campaign_and_the_lead_rating_by_normalised_email(
    spark, sfdc, scored
) -> None:
    enriched = _enrich(
        spark,
        sfdc,
        scored,
        _response("R1", "C1", email="  ANN@x.com "),
        _response("R2", "C2", email="bob@X.com", status="no_show"),
        _response("R3", "C1", email="dup@x.com", status="maybe"),
        _response("R4", "C1", email="stranger@x.com"),  # no contact: null rating
        _response("R5", "C1", email="   "),  # blank never matches a blank contact email
        _response("R6", "C1", email=None, status=None),
    )
    expected = _payload(
        spark,
        ("R1", "Summit", "Event", "A1", "Responded"),
        ("R2", "Webinar", "Webinar", "C4", "No Show"),
        ("R3", "Summit", "Event", "B2", "Other"),
        ("R4", "Summit", "Event", None, "Responded"),
        ("R5", "Summit", "Event", None, "Responded"),
        ("R6", "Summit", "Event", None, "Other"),
    )
    assert_df_equality(
        enriched.transform(campaign_responses_payload), expected, ignore_row_order=True, ignore_nullable=True
    )


def test_campaign_responses_quarantine_unknown_and_null_campaigns_with_a_reason(spark, sfdc, scored) -> None:
    rows = [
        _response("R1", "C1"),
        _response("R2", "C404", status="Attended"),
        _response("R3", None),
        _response("R4", "c1"),  # CampaignId is matched exactly
    ]
    enriched = _enrich(spark, sfdc, scored, *rows)
    expected_quarantine = frame(
        spark,
        QUARANTINE_CAMPAIGN_RESPONSES,
        [
            {**rows[1], "reason": REASON_UNKNOWN_CAMPAIGN_ID},
            {**rows[2], "reason": REASON_NULL_CAMPAIGN_ID},
            {**rows[3], "reason": REASON_UNKNOWN_CAMPAIGN_ID},
        ],
    )
    assert_df_equality(
        enriched.transform(campaign_responses_quarantine),
        expected_quarantine,
        ignore_row_order=True,
        ignore_nullable=True,
    )
    assert_df_equality(
        enriched.transform(campaign_responses_payload),
        _payload(spark, ("R1", "Summit", "Event", "A1", "Responded")),
        ignore_nullable=True,
    )


def test_campaign_responses_take_only_responses_of_the_day(spark, sfdc, scored) -> None:
    enriched = _enrich(
        spark,
        sfdc,
        scored,
        _response("R1", "C1", at="2026-11-27 00:00:00"),  # first instant of D
        _response("R2", "C1", at="2026-11-27 23:59:59"),
        _response("R3", "C1", at="2026-11-28 00:00:00"),  # D+1 00:00:00: outside
        _response("R4", "C404", at="2026-11-26 23:59:59"),  # outside: not quarantined either
        {**_response("R5", "C1"), "RespondedAt": None},
    )
    expected = _payload(
        spark, ("R1", "Summit", "Event", "A1", "Responded"), ("R2", "Summit", "Event", "A1", "Responded")
    )
    assert_df_equality(
        enriched.transform(campaign_responses_payload), expected, ignore_row_order=True, ignore_nullable=True
    )
    assert_df_equality(
        enriched.transform(campaign_responses_quarantine),
        frame(spark, QUARANTINE_CAMPAIGN_RESPONSES, []),
        ignore_nullable=True,
    )


def test_campaign_responses_emit_only_rows_whose_enriched_values_change(spark, sfdc, scored) -> None:
    done = {
        "CampaignName": "Summit",
        "CampaignType": "Event",
        "LeadRatingAtResponse": "A1",
        "StatusNormalized": "Responded",
    }
    enriched = _enrich(
        spark,
        sfdc,
        scored,
        _response("R1", "C1", **done),  # already enriched with the same values: suppressed
        _response("R2", "C1", **{**done, "LeadRatingAtResponse": "B1"}),
        _response("R3", "C1", **{**done, "CampaignType": None}),
        _response("R4", "C1"),
    )
    expected = _payload(
        spark,
        ("R2", "Summit", "Event", "A1", "Responded"),
        ("R3", "Summit", "Event", "A1", "Responded"),
        ("R4", "Summit", "Event", "A1", "Responded"),
    )
    assert_df_equality(
        enriched.transform(campaign_responses_payload), expected, ignore_row_order=True, ignore_nullable=True
    )
