"""``lead_scoring`` (spec 3.3): profile points + letter, engagement points + digit, ``LeadRating`` per
contact.

Input: contacts washed by :func:`spark.washing.wash_contacts` in the same run (``job_level`` and
``country_iso`` come from there, not from Eloqua) and the activities of the lookback. Targets and the lookback
length are plain values (:class:`LeadScoringSettings`, read by the job from the settings file).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable, Sequence

from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F

from contract.settings import LeadScoringSettings
from spark.columns import TimeWindow, any_differs, is_blank, lookback_window
from spark.staging import keep_one_row_per
from spark.washing import (
    JobLevelRule,
    loadable_rows,
    quarantined_rows,
    wash_contacts,
    with_identifier_reason,
)

Transform = Callable[[DataFrame], DataFrame]

JOB_LEVEL_POINTS = {
    "C-Level": 40,
    "VP": 35,
    "Director": 30,
    "Manager": 20,
    "Individual Contributor": 10,
    "Unknown": 0,
}
TARGET_COUNTRY_POINTS = 30
TARGET_INDUSTRY_POINTS = 30

# activity type -> (points per activity, cap)
ENGAGEMENT_RULES: dict[str, tuple[int, int]] = {
    "EmailOpen": (1, 10),
    "EmailClickthrough": (3, 30),
    "FormSubmit": (10, 40),
    "WebVisit": (2, 20),
}
SCORED_ACTIVITY_TYPES = tuple(ENGAGEMENT_RULES)

PROFILE_LETTERS = ((80, "A"), (60, "B"), (30, "C"))
PROFILE_LETTER_ELSE = "D"
ENGAGEMENT_DIGITS = ((60, "1"), (30, "2"), (10, "3"))
ENGAGEMENT_DIGIT_ELSE = "4"


def _thresholds(points: Column, steps: Iterable[tuple[int, str]], otherwise: str) -> Column:
    result: Column | None = None
    for minimum, value in steps:
        result = F.when(points >= minimum, value) if result is None else result.when(points >= minimum, value)
    assert result is not None
    return result.otherwise(otherwise)


def _thresholds_by_value(value: Column, points: dict[str, int]) -> Column:
    result: Column | None = None
    for name, score in points.items():
        result = F.when(value == name, score) if result is None else result.when(value == name, score)
    assert result is not None
    return result.otherwise(0)


def profile_points(
    job_level: Column, country_iso: Column, industry: Column, settings: LeadScoringSettings
) -> Column:
    """Job-level points + 30 for a target ``country_iso`` + 30 for a target ``lower(trim(industry))``
    (0-100)."""
    level = _thresholds_by_value(job_level, JOB_LEVEL_POINTS)
    country = F.when(country_iso.isin(*settings.target_countries), TARGET_COUNTRY_POINTS).otherwise(0)
    industry_points = F.when(
        F.lower(F.trim(industry)).isin(*settings.target_industries), TARGET_INDUSTRY_POINTS
    ).otherwise(0)
    return (level + country + industry_points).cast("int")


def profile_letter(points: Column) -> Column:
    """``A`` from 80, ``B`` from 60, ``C`` from 30, else ``D``."""
    return _thresholds(points, PROFILE_LETTERS, PROFILE_LETTER_ELSE)


def engagement_digit(points: Column) -> Column:
    """``1`` from 60, ``2`` from 30, ``3`` from 10, else ``4``."""
    return _thresholds(points, ENGAGEMENT_DIGITS, ENGAGEMENT_DIGIT_ELSE)


def engagement_points_per_contact(window: TimeWindow) -> Transform:
    """Activities -> ``(ContactId, engagement_points)`` for every ContactId with a scored activity in
    ``window``.

    Activities outside the window are ignored, the rest deduplicated on ActivityId (one row kept, see
    :func:`spark.staging.keep_one_row_per`), those with a null ContactId ignored; then per contact ``min(10,
    opens) + min(30, 3 x clicks) + min(40, 10 x forms) + min(20, 2 x web visits)``.
    """

    def transform(activities: DataFrame) -> DataFrame:
        # Only the columns scoring needs go through the dedupe shuffle (tie-break in the contract's order).
        in_window = activities.filter(window.contains(F.col("ActivityDate"))).select(
            "ActivityId", "ActivityType", "ActivityDate", "ContactId"
        )
        deduped = in_window.transform(keep_one_row_per(["ActivityId"])).filter(F.col("ContactId").isNotNull())
        counts = (
            deduped.filter(F.col("ActivityType").isin(*SCORED_ACTIVITY_TYPES))
            .groupBy("ContactId")
            .agg(
                *[
                    F.sum(F.when(F.col("ActivityType") == kind, 1).otherwise(0)).alias(f"_n_{kind}")
                    for kind in SCORED_ACTIVITY_TYPES
                ]
            )
        )
        points = F.lit(0)
        for kind, (each, cap) in ENGAGEMENT_RULES.items():
            points = points + F.least(F.lit(cap), F.col(f"_n_{kind}") * each)
        return counts.select("ContactId", points.cast("int").alias("engagement_points"))

    return transform


def with_lead_scores(activities: DataFrame, run_date: dt.date, settings: LeadScoringSettings) -> Transform:
    """On washed contacts: adds ``profile_points``, ``engagement_points`` (0 without activities) and
    ``lead_rating`` (letter + digit), counting ``activities`` in the lookback ending with D."""
    window = lookback_window(run_date, settings.lookback_days)

    def transform(washed: DataFrame) -> DataFrame:
        engagement = activities.transform(engagement_points_per_contact(window)).withColumnRenamed(
            "ContactId", "_scored_contact_id"
        )
        scored = (
            washed.join(engagement, F.col("ContactId") == F.col("_scored_contact_id"), "left")
            .drop("_scored_contact_id")
            .withColumn("engagement_points", F.coalesce(F.col("engagement_points"), F.lit(0)))
            .withColumn(
                "profile_points",
                profile_points(F.col("job_level"), F.col("country_iso"), F.col("Industry"), settings),
            )
        )
        return scored.withColumn(
            "lead_rating",
            F.concat(profile_letter(F.col("profile_points")), engagement_digit(F.col("engagement_points"))),
        )

    return transform


def lead_scoring_rows(scored: DataFrame) -> DataFrame:
    """The ``lead_scoring`` rows from scored contacts (the whole snapshot): ``ContactId``, ``EmailAddress``,
    ``LeadRating``, ``ProfileScore``, ``EngagementScore`` and ``reason``
    (:func:`spark.washing.with_identifier_reason`), for contacts with a non-blank EmailAddress whose rating or
    scores differ (null-safe) from the snapshot."""
    changed = any_differs(
        [
            (F.col("lead_rating"), F.col("LeadRating")),
            (F.col("profile_points"), F.col("ProfileScore")),
            (F.col("engagement_points"), F.col("EngagementScore")),
        ]
    )
    return (
        scored.filter(~is_blank(F.col("EmailAddress")) & changed)
        .select(
            F.col("ContactId"),
            F.col("EmailAddress"),
            F.col("lead_rating").alias("LeadRating"),
            F.col("profile_points").alias("ProfileScore"),
            F.col("engagement_points").alias("EngagementScore"),
        )
        .transform(with_identifier_reason(scored))
    )


def lead_scoring_payload(scored: DataFrame) -> DataFrame:
    """The ``lead_scoring`` import rows: :func:`lead_scoring_rows` that may be loaded."""
    return lead_scoring_rows(scored).transform(loadable_rows("lead_scoring"))


def lead_scoring_quarantine(scored: DataFrame) -> DataFrame:
    """The ``lead_scoring`` rows held back, with their ``reason``."""
    return lead_scoring_rows(scored).transform(quarantined_rows("lead_scoring"))


def scored_contacts(
    contacts: DataFrame,
    activities: DataFrame,
    countries: DataFrame,
    states: DataFrame,
    job_level_rules: Sequence[JobLevelRule],
    run_date: dt.date,
    settings: LeadScoringSettings,
) -> DataFrame:
    """The washed contacts of ``run_date`` with this run's scores and ``lead_rating``: what ``lead_scoring``
    pays out and what ``campaign_responses`` rates each response with."""
    return contacts.transform(wash_contacts(countries, states, job_level_rules)).transform(
        with_lead_scores(activities, run_date, settings)
    )
