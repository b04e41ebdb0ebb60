"""Every expectation of the four suites, both ways: a payload that meets them all passes, and each variant that
breaks exactly one rule fails exactly that expectation (checkpoint runs on the session SparkSession)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

import pytest

from quality.checkpoint import CheckpointOutcome, run_checkpoint
from quality.suites import build_suite, max_rows, suite_parameters
from quality.thresholds import GateThresholds
from spark.schemas import PAYLOAD_SCHEMAS
from tests.spark.builders import frame

pytestmark = pytest.mark.spark

D = dt.date(2026, 11, 27)
THRESHOLDS = GateThresholds()


def utc(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text).replace(tzinfo=dt.UTC)


def _washing(n: int, **first: Any) -> dict[str, Any]:
    return {"EmailAddress": f"c{n}@x.com", "Country": "US", "StateProv": "CA", "JobLevel": "VP", **first}


# Ten rows, one Country not ISO-2: exactly the 0.9 the threshold allows.
WASHING = [_washing(n) for n in range(9)] + [_washing(9, Country="Germany")]
BOUNCES = [
    {"EmailAddress": "a@x.com", "HardBouncedAt": utc("2026-11-27 00:00:00"), "IsBounced": True},
    {"EmailAddress": "b@x.com", "HardBouncedAt": utc("2026-11-27 23:59:59.999999"), "IsBounced": True},
]
SCORES = [
    {"EmailAddress": "a@x.com", "LeadRating": "A1", "ProfileScore": 100, "EngagementScore": 0},
    {"EmailAddress": "b@x.com", "LeadRating": "D4", "ProfileScore": 0, "EngagementScore": 100},
]
RESPONSES = [
    {"ResponseId": "R1", "CampaignName": "Summit", "CampaignType": None, "LeadRatingAtResponse": None,
     "StatusNormalized": "No Show"},
    {"ResponseId": "R2", "CampaignName": "Webinar", "CampaignType": "Event", "LeadRatingAtResponse": "B2",
     "StatusNormalized": "Other"},
]
GOOD = {"contact_washing": WASHING, "hard_bounces": BOUNCES, "lead_scoring": SCORES, "campaign_responses": RESPONSES}


def _check(
    spark, tmp_path: Path, pipeline: str, rows: list[dict[str, Any]], *, snapshot_rows: int = 100,
    quarantined_rows: int = 5, responses_of_day: int = 100, row_count_guard: bool = True, df: Any = None,
) -> CheckpointOutcome:
    payload = df if df is not None else frame(spark, PAYLOAD_SCHEMAS[pipeline], rows)
    parameters = suite_parameters(
        pipeline, D, snapshot_rows=snapshot_rows, thresholds=THRESHOLDS, row_count_guard=row_count_guard,
        quarantined_rows=quarantined_rows, responses_of_day=responses_of_day,
    )
    return run_checkpoint(pipeline, payload, D, parameters, THRESHOLDS, tmp_path)


@pytest.mark.parametrize("pipeline", list(GOOD))
def test_a_payload_that_meets_every_rule_passes(spark, tmp_path, pipeline) -> None:
    outcome = _check(spark, tmp_path, pipeline, GOOD[pipeline])
    assert (outcome.success, outcome.failed_expectations) == (True, [])
    evaluated = outcome.checkpoint_result["validation_results"][0]["statistics"]["evaluated_expectations"]
    assert evaluated == len(build_suite(pipeline, THRESHOLDS).expectations)


def _replace(rows: list[dict[str, Any]], index: int, **values: Any) -> list[dict[str, Any]]:
    return [({**r, **values} if i == index else r) for i, r in enumerate(rows)]


BROKEN = [
    # every payload (shown on contact_washing): the identifier, and the row-count guard
    ("contact_washing", _replace(WASHING, 0, EmailAddress=None), {},
     "expect_column_values_to_not_be_null(EmailAddress)"),
    ("contact_washing", _replace(WASHING, 0, EmailAddress="c1@x.com"), {},
     "expect_column_values_to_be_unique(EmailAddress)"),
    # ten rows against a snapshot of 19: floor(0.5 x 19) = 9
    ("contact_washing", WASHING, {"snapshot_rows": 19}, "expect_table_row_count_to_be_between"),
    ("contact_washing", _replace(WASHING, 0, JobLevel="Boss"), {}, "expect_column_values_to_be_in_set(JobLevel)"),
    # two of ten not ISO-2: 0.8 < 0.9
    ("contact_washing", _replace(WASHING, 0, Country="usa"), {}, "expect_column_values_to_match_regex(Country)"),
    ("hard_bounces", _replace(BOUNCES, 0, HardBouncedAt=None), {},
     "expect_column_values_to_not_be_null(HardBouncedAt)"),
    ("hard_bounces", _replace(BOUNCES, 1, HardBouncedAt=utc("2026-11-28 00:00:00")), {},
     "expect_column_values_to_be_between(HardBouncedAt)"),
    ("hard_bounces", _replace(BOUNCES, 0, HardBouncedAt=utc("2026-11-26 23:59:59.999999")), {},
     "expect_column_values_to_be_between(HardBouncedAt)"),
    ("hard_bounces", _replace(BOUNCES, 0, IsBounced=False), {}, "expect_column_values_to_be_in_set(IsBounced)"),
    ("hard_bounces", _replace(BOUNCES, 0, IsBounced=None), {}, "expect_column_values_to_not_be_null(IsBounced)"),
    ("lead_scoring", _replace(SCORES, 0, LeadRating="E1"), {}, "expect_column_values_to_be_in_set(LeadRating)"),
    ("lead_scoring", _replace(SCORES, 0, LeadRating="A5"), {}, "expect_column_values_to_be_in_set(LeadRating)"),
    ("lead_scoring", _replace(SCORES, 0, ProfileScore=101), {}, "expect_column_values_to_be_between(ProfileScore)"),
    ("lead_scoring", _replace(SCORES, 1, EngagementScore=-1), {},
     "expect_column_values_to_be_between(EngagementScore)"),
    ("campaign_responses", _replace(RESPONSES, 0, CampaignName=None), {},
     "expect_column_values_to_not_be_null(CampaignName)"),
    ("campaign_responses", _replace(RESPONSES, 0, StatusNormalized="no show"), {},
     "expect_column_values_to_be_in_set(StatusNormalized)"),
    # 6 quarantined of 100 responses: more than 0.05
    ("campaign_responses", RESPONSES, {"quarantined_rows": 6},
     "expect_quarantined_rows_to_be_at_most_fraction_of_responses"),
]


@pytest.mark.parametrize(("pipeline", "rows", "counts", "failed"), BROKEN, ids=[f"{b[0]}-{b[3]}" for b in BROKEN])
def test_a_payload_breaking_one_rule_fails_exactly_that_expectation(
    spark, tmp_path, pipeline, rows, counts, failed
) -> None:
    outcome = _check(spark, tmp_path, pipeline, rows, **counts)
    assert (outcome.success, outcome.failed_expectations) == (False, [failed])


@pytest.mark.parametrize("pipeline", list(GOOD))
def test_columns_out_of_contract_order_fail(spark, tmp_path, pipeline) -> None:
    good = frame(spark, PAYLOAD_SCHEMAS[pipeline], GOOD[pipeline])
    outcome = _check(spark, tmp_path, pipeline, [], df=good.select(*reversed(good.columns)))
    assert outcome.failed_expectations == ["expect_table_columns_to_match_ordered_list"]


def test_an_extra_column_fails_the_column_list(spark, tmp_path) -> None:
    good = frame(spark, PAYLOAD_SCHEMAS["lead_scoring"], SCORES)
    outcome = _check(spark, tmp_path, "lead_scoring", [], df=good.withColumn("ContactId", good.EmailAddress))
    assert outcome.failed_expectations == ["expect_table_columns_to_match_ordered_list"]


def test_without_the_guard_an_approved_initial_load_may_touch_every_contact(spark, tmp_path) -> None:
    outcome = _check(spark, tmp_path, "contact_washing", WASHING, snapshot_rows=10, row_count_guard=False)
    assert (outcome.success, outcome.failed_expectations) == (True, [])


@pytest.mark.parametrize(("snapshot", "expected"), [(0, 0), (1, 0), (7, 3), (10, 5)])
def test_the_row_count_ceiling_is_the_floor_of_the_fraction(snapshot, expected) -> None:
    assert max_rows(snapshot, THRESHOLDS) == expected


def test_the_quarantine_counts_are_required_for_campaign_responses() -> None:
    with pytest.raises(ValueError, match="quarantined_rows"):
        suite_parameters("campaign_responses", D, snapshot_rows=1, thresholds=THRESHOLDS)
