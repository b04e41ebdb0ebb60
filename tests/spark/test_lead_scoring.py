"""``lead_scoring`` (spec 3.3): profile points and letter, engagement points and digit, the 90-day lookback,
deduplication, no-change suppression."""

from __future__ import annotations

import datetime as dt

import pytest
from chispa import assert_df_equality
from pyspark.sql import functions as F

from spark.columns import lookback_window
from spark.lead_scoring import (
    LeadScoringSettings,
    engagement_digit,
    engagement_points_per_contact,
    lead_scoring_payload,
    lead_scoring_quarantine,
    profile_letter,
    profile_points,
    with_lead_scores,
)
from spark.schemas import COUNTRIES_REFERENCE, PAYLOAD_SCHEMAS, STATES_REFERENCE
from spark.washing import quarantine_schema, wash_contacts
from tests.spark.builders import D, activities, contacts, frame, ts

pytestmark = pytest.mark.spark

DEFAULTS = LeadScoringSettings()
LOOKBACK = lookback_window(D, 90)
IN_WINDOW = "2026-11-20 12:00:00"


def _acts(contact_id: str | None, kind: str, n: int, at: str = IN_WINDOW, prefix: str = "") -> list[dict]:
    tag = prefix or f"{contact_id}-{kind}"
    return [
        {"ActivityId": f"{tag}-{i}", "ActivityType": kind, "ActivityDate": ts(at), "ContactId": contact_id}
        for i in range(n)
    ]


def _engagement(spark, rows: list[dict]):
    return activities(spark, *rows).transform(engagement_points_per_contact(LOOKBACK))


def _points(spark, *pairs: tuple[str, int]):
    return spark.createDataFrame(list(pairs), "ContactId string, engagement_points int")


# --- letters, digits, profile points ----------------------------------------------------------------------

LETTER_CASES = [(100, "A"), (80, "A"), (79, "B"), (60, "B"), (59, "C"), (30, "C"), (29, "D"), (0, "D")]
DIGIT_CASES = [(100, "1"), (60, "1"), (59, "2"), (30, "2"), (29, "3"), (10, "3"), (9, "4"), (0, "4")]


def test_profile_letter_thresholds_are_80_60_30_inclusive(spark) -> None:
    df = spark.createDataFrame([(p,) for p, _ in LETTER_CASES], "points int")
    expected = spark.createDataFrame(LETTER_CASES, "points int, letter string")
    assert_df_equality(
        df.withColumn("letter", profile_letter(F.col("points"))), expected, ignore_nullable=True
    )


def test_engagement_digit_thresholds_are_60_30_10_inclusive(spark) -> None:
    df = spark.createDataFrame([(p,) for p, _ in DIGIT_CASES], "points int")
    expected = spark.createDataFrame(DIGIT_CASES, "points int, digit string")
    assert_df_equality(
        df.withColumn("digit", engagement_digit(F.col("points"))), expected, ignore_nullable=True
    )


PROFILE_CASES = [
    # job_level, country_iso, Industry, points
    ("C-Level", "US", "Technology", 100),
    ("VP", None, None, 35),
    ("Director", "DE", None, 60),
    ("Manager", "JP", " financial services ", 80),  # industry compared as lower(trim())
    ("Individual Contributor", "BR", "healthcare", 40),  # BR is not a target country
    ("Unknown", "AU", "Retail", 30),
    ("Unknown", None, "Tech", 0),  # not a target industry
    ("Unknown", "us", None, 0),  # country_iso is compared as computed (always upper-case ISO-2)
]


def test_profile_points_add_level_target_country_and_target_industry(spark) -> None:
    df = spark.createDataFrame(
        [c[:3] for c in PROFILE_CASES], "job_level string, country_iso string, Industry string"
    )
    expected = spark.createDataFrame(
        PROFILE_CASES, "job_level string, country_iso string, Industry string, points int"
    )
    actual = df.withColumn(
        "points", profile_points(F.col("job_level"), F.col("country_iso"), F.col("Industry"), DEFAULTS)
    )
    assert_df_equality(actual, expected, ignore_nullable=True)


def test_profile_points_use_the_configured_targets(spark) -> None:
    settings = LeadScoringSettings(target_countries=(" br",), target_industries=("Retail ",))
    df = spark.createDataFrame(
        [("Unknown", "BR", "retail"), ("Unknown", "US", "technology")], "l string, c string, i string"
    )
    expected = spark.createDataFrame(
        [("Unknown", "BR", "retail", 60), ("Unknown", "US", "technology", 0)],
        "l string, c string, i string, p int",
    )
    actual = df.withColumn("p", profile_points(F.col("l"), F.col("c"), F.col("i"), settings))
    assert_df_equality(actual, expected, ignore_nullable=True)


# --- engagement ---------------------------------------------------------------------------------------------


def test_lead_scoring_caps_clicks_at_thirty_points(spark) -> None:
    rows = (
        _acts("9", "EmailClickthrough", 9)
        + _acts("10", "EmailClickthrough", 10)
        + _acts("11", "EmailClickthrough", 11)
    )
    expected = _points(spark, ("9", 27), ("10", 30), ("11", 30))
    assert_df_equality(_engagement(spark, rows), expected, ignore_row_order=True, ignore_nullable=True)


def test_lead_scoring_caps_opens_at_ten_points(spark) -> None:
    rows = _acts("9", "EmailOpen", 9) + _acts("10", "EmailOpen", 10) + _acts("11", "EmailOpen", 11)
    expected = _points(spark, ("9", 9), ("10", 10), ("11", 10))
    assert_df_equality(_engagement(spark, rows), expected, ignore_row_order=True, ignore_nullable=True)


def test_lead_scoring_caps_form_submits_at_forty_points(spark) -> None:
    rows = _acts("3", "FormSubmit", 3) + _acts("4", "FormSubmit", 4) + _acts("5", "FormSubmit", 5)
    expected = _points(spark, ("3", 30), ("4", 40), ("5", 40))
    assert_df_equality(_engagement(spark, rows), expected, ignore_row_order=True, ignore_nullable=True)


def test_lead_scoring_caps_web_visits_at_twenty_points(spark) -> None:
    rows = _acts("9", "WebVisit", 9) + _acts("10", "WebVisit", 10) + _acts("11", "WebVisit", 11)
    expected = _points(spark, ("9", 18), ("10", 20), ("11", 20))
    assert_df_equality(_engagement(spark, rows), expected, ignore_row_order=True, ignore_nullable=True)


def test_lead_scoring_adds_the_capped_points_of_every_type_up_to_one_hundred(spark) -> None:
    rows = (
        _acts("max", "EmailOpen", 12)
        + _acts("max", "EmailClickthrough", 12)
        + _acts("max", "FormSubmit", 6)
        + _acts("max", "WebVisit", 12)
        + _acts("mix", "EmailOpen", 2)
        + _acts("mix", "EmailClickthrough", 1)
        + _acts("mix", "FormSubmit", 1)
        + _acts("mix", "WebVisit", 3)
    )
    expected = _points(spark, ("max", 100), ("mix", 2 + 3 + 10 + 6))
    assert_df_equality(_engagement(spark, rows), expected, ignore_row_order=True, ignore_nullable=True)


def test_lead_scoring_ignores_sends_bounces_and_other_types(spark) -> None:
    rows = (
        _acts("1", "EmailSend", 5)
        + _acts("1", "Bounceback", 5)
        + _acts("1", "PageView", 5)
        + _acts("2", "WebVisit", 1)
    )
    assert_df_equality(_engagement(spark, rows), _points(spark, ("2", 2)), ignore_nullable=True)


def test_lead_scoring_deduplicates_activities_on_activity_id(spark) -> None:
    once = _acts("1", "FormSubmit", 1, prefix="same")
    rows = once + once + once + _acts("1", "FormSubmit", 1, prefix="other")
    assert_df_equality(_engagement(spark, rows), _points(spark, ("1", 20)), ignore_nullable=True)


def test_lead_scoring_ignores_activities_with_a_null_contact_id(spark) -> None:
    rows = [{**a, "EmailAddress": "one@x.com"} for a in _acts(None, "FormSubmit", 3)] + _acts(
        "1", "WebVisit", 1
    )
    assert_df_equality(_engagement(spark, rows), _points(spark, ("1", 2)), ignore_nullable=True)


LOOKBACK_BORDER_CASES = [
    ("2026-08-30 00:00:00", True),  # D-89 00:00:00: the first instant of the lookback
    ("2026-08-29 23:59:59", False),  # the last second of D-90
    ("2026-11-27 23:59:59", True),  # the last second of D
    ("2026-11-28 00:00:00", False),  # D+1 00:00:00
]


def test_lead_scoring_counts_activities_of_the_ninety_days_ending_with_d(spark) -> None:
    assert D - dt.timedelta(days=89) == dt.date(2026, 8, 30)
    rows = [
        a for n, (at, _) in enumerate(LOOKBACK_BORDER_CASES) for a in _acts(str(n), "FormSubmit", 1, at=at)
    ]
    expected = _points(
        spark, *[(str(n), 10) for n, (_, inside) in enumerate(LOOKBACK_BORDER_CASES) if inside]
    )
    assert_df_equality(_engagement(spark, rows), expected, ignore_row_order=True, ignore_nullable=True)


# --- whole rule on washed contacts ------------------------------------------------------------------------


@pytest.fixture(scope="module")
def washing(spark):
    countries = spark.createDataFrame([("USA", "US"), ("US", "US"), ("BRAZIL", "BR")], COUNTRIES_REFERENCE)
    states = spark.createDataFrame([], STATES_REFERENCE)
    rules = [(r"\bceo\b", "C-Level"), (r"\bvp\b", "VP"), (r"\bengineer\b", "Individual Contributor")]
    return wash_contacts(countries, states, rules)


def _payload(spark, *rows: tuple[str, str, int, int]):
    names = PAYLOAD_SCHEMAS["lead_scoring"].fieldNames()
    return frame(spark, PAYLOAD_SCHEMAS["lead_scoring"], [dict(zip(names, r, strict=True)) for r in rows])


def test_lead_scoring_uses_job_level_and_country_computed_by_washing_in_the_same_run(spark, washing) -> None:
    snapshot = contacts(
        spark,
        # Eloqua still says Unknown / "usa": scored as C-Level (40) in the US (30) with a target industry (30)
        {
            "ContactId": "1",
            "EmailAddress": "ceo@x.com",
            "Title": "CEO",
            "JobLevel": "Unknown",
            "Country": "usa",
            "Industry": "Technology",
        },
        # Eloqua says C-Level / US but the title and country wash to IC / BR: 10 points
        {
            "ContactId": "2",
            "EmailAddress": "eng@x.com",
            "Title": "Engineer",
            "JobLevel": "C-Level",
            "Country": "Brazil",
        },
    )
    rows = _acts("1", "EmailClickthrough", 4) + _acts("2", "FormSubmit", 3)
    scored = snapshot.transform(washing).transform(with_lead_scores(activities(spark, *rows), D, DEFAULTS))
    expected = _payload(spark, ("ceo@x.com", "A3", 100, 12), ("eng@x.com", "D2", 10, 30))
    assert_df_equality(
        scored.transform(lead_scoring_payload), expected, ignore_row_order=True, ignore_nullable=True
    )


def test_lead_scoring_scores_contacts_without_activities_with_zero_engagement(spark, washing) -> None:
    snapshot = contacts(
        spark, {"ContactId": "1", "EmailAddress": "a@x.com", "Title": "VP Sales", "Country": "US"}
    )
    scored = snapshot.transform(washing).transform(with_lead_scores(activities(spark), D, DEFAULTS))
    assert_df_equality(
        scored.transform(lead_scoring_payload),
        _payload(spark, ("a@x.com", "B4", 65, 0)),
        ignore_nullable=True,
    )


def test_lead_scoring_emits_only_contacts_whose_rating_or_scores_change(spark, washing) -> None:
    # every contact computes to C-Level in the US without activities: 70 points, engagement 0, "B4"
    current = [
        ("B4", 70, 0, False),  # unchanged: suppressed
        ("B3", 70, 0, True),  # rating differs
        ("B4", 69, 0, True),  # profile score differs
        ("B4", 70, 5, True),  # engagement score differs
        (None, 70, 0, True),  # null vs value is a change
        ("B4", None, None, True),
    ]
    snapshot = contacts(
        spark,
        *[
            {
                "ContactId": str(n),
                "EmailAddress": f"{n}@x.com",
                "Title": "CEO",
                "Country": "US",
                "LeadRating": r,
                "ProfileScore": p,
                "EngagementScore": e,
            }
            for n, (r, p, e, _) in enumerate(current)
        ],
    )
    scored = snapshot.transform(washing).transform(with_lead_scores(activities(spark), D, DEFAULTS))
    expected = _payload(spark, *[(f"{n}@x.com", "B4", 70, 0) for n, c in enumerate(current) if c[3]])
    assert_df_equality(
        scored.transform(lead_scoring_payload), expected, ignore_row_order=True, ignore_nullable=True
    )


def test_lead_scoring_never_emits_contacts_without_email(spark, washing) -> None:
    snapshot = contacts(
        spark,
        {"ContactId": "1", "EmailAddress": None, "Title": "CEO"},
        {"ContactId": "2", "EmailAddress": "  ", "Title": "CEO"},
    )
    scored = snapshot.transform(washing).transform(with_lead_scores(activities(spark), D, DEFAULTS))
    assert_df_equality(scored.transform(lead_scoring_payload), _payload(spark), ignore_nullable=True)


def test_lead_scoring_settings_normalise_targets_and_reject_an_empty_lookback() -> None:
    settings = LeadScoringSettings(target_countries=(" us",), target_industries=(" Technology ",))
    assert settings.target_countries == ("US",)
    assert settings.target_industries == ("technology",)
    with pytest.raises(ValueError, match="lookback_days"):
        LeadScoringSettings(lookback_days=0)


def test_lead_scoring_quarantines_invalid_and_shared_addresses(spark, washing) -> None:
    # every contact computes to "B4" (C-Level in the US, no activities) and differs from Eloqua's null rating
    snapshot = contacts(spark, *[
        {"ContactId": c, "EmailAddress": e, "Title": "CEO", "Country": "US"}
        for c, e in (("1", "a@x.com"), ("2", "b@x.com"), ("3", " B@x.com"), ("4", "c@@x.com"))
    ])
    scored = snapshot.transform(washing).transform(with_lead_scores(activities(spark), D, DEFAULTS))
    assert_df_equality(lead_scoring_payload(scored), _payload(spark, ("a@x.com", "B4", 70, 0)), ignore_nullable=True)
    expected = frame(spark, quarantine_schema("lead_scoring"), [
        {"ContactId": c, "EmailAddress": e, "LeadRating": "B4", "ProfileScore": 70, "EngagementScore": 0,
         "reason": r}
        for c, e, r in (("2", "b@x.com", "shared_email_address"), ("3", " B@x.com", "shared_email_address"),
                        ("4", "c@@x.com", "invalid_email_address"))
    ])
    assert_df_equality(lead_scoring_quarantine(scored), expected, ignore_row_order=True, ignore_nullable=True)
