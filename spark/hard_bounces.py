"""``hard_bounces`` (spec 3.2): the latest hard bounce of the day per contact, as
``HardBouncedAt``/``IsBounced``.

Input: activities (any types; only ``Bounceback`` rows inside the day's window count) and the contacts
snapshot.
"""

from __future__ import annotations

from collections.abc import Callable

from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F

from spark.columns import TimeWindow, is_blank, normalized_email
from spark.washing import loadable_rows, quarantined_rows, with_identifier_reason

Transform = Callable[[DataFrame], DataFrame]

PIPELINE = "hard_bounces"
BOUNCEBACK = "Bounceback"
MATCHED_CONTACT_ID = "matched_contact_id"


def is_hard_bounce(smtp_error_code: Column, smtp_status_code: Column) -> Column:
    """True when either code starts with ``5`` (``5.1.1``, ``550``); never null."""
    return F.coalesce(smtp_error_code.startswith("5"), F.lit(False)) | F.coalesce(
        smtp_status_code.startswith("5"), F.lit(False)
    )


def keep_hard_bounces(window: TimeWindow) -> Transform:
    """Bounceback activities with ``ActivityDate`` in ``window`` whose SMTP codes make them hard; soft ones
    are dropped."""

    def transform(activities: DataFrame) -> DataFrame:
        return activities.filter(
            (F.col("ActivityType") == BOUNCEBACK)
            & window.contains(F.col("ActivityDate"))
            & is_hard_bounce(F.col("SmtpErrorCode"), F.col("SmtpStatusCode"))
        )

    return transform


def with_matched_contact(contacts: DataFrame) -> Transform:
    """Adds ``matched_contact_id``: the snapshot contact an activity belongs to, or null when none matches.

    An activity with a ContactId belongs to the contact with that ContactId (no email fallback); one with a
    null ContactId belongs to every contact whose ``lower(trim(EmailAddress))`` equals its own (blank never
    matches).
    """

    def transform(activities: DataFrame) -> DataFrame:
        # Only the contacts the activities name are looked up: the keys of a day's bounces are a small side
        # Spark broadcasts into one pass over the snapshot, where de-duplicating every contact first cost two
        # shuffles of the whole snapshot per call.
        wanted_ids = activities.select(F.col("ContactId").alias("_wanted_id")).filter(
            F.col("_wanted_id").isNotNull())
        wanted_emails = activities.filter(F.col("ContactId").isNull()).select(
            normalized_email(F.col("EmailAddress")).alias("_wanted_email"))
        ids = (
            contacts.select(F.col("ContactId").alias(MATCHED_CONTACT_ID))
            .join(wanted_ids, F.col(MATCHED_CONTACT_ID) == F.col("_wanted_id"), "left_semi")
            .distinct()
        )
        emails = (
            contacts.filter(~is_blank(F.col("EmailAddress")))
            .select(
                F.col("ContactId").alias(MATCHED_CONTACT_ID),
                normalized_email(F.col("EmailAddress")).alias("_contact_email"),
            )
            .join(wanted_emails, F.col("_contact_email") == F.col("_wanted_email"), "left_semi")
            .distinct()
        )
        by_id = activities.filter(F.col("ContactId").isNotNull()).join(
            ids, F.col("ContactId") == F.col(MATCHED_CONTACT_ID), "left"
        )
        by_email = (
            activities.filter(F.col("ContactId").isNull())
            .join(emails, normalized_email(F.col("EmailAddress")) == F.col("_contact_email"), "left")
            .drop("_contact_email")
        )
        return by_id.unionByName(by_email)

    return transform


def unmatched_hard_bounces(contacts: DataFrame, window: TimeWindow) -> Transform:
    """The day's hard bounces that match no contact (the job counts and drops them)."""

    def transform(activities: DataFrame) -> DataFrame:
        return (
            activities.transform(keep_hard_bounces(window))
            .transform(with_matched_contact(contacts))
            .filter(F.col(MATCHED_CONTACT_ID).isNull())
            .drop(MATCHED_CONTACT_ID)
        )

    return transform


def hard_bounces_rows(contacts: DataFrame, window: TimeWindow) -> Transform:
    """The ``hard_bounces`` rows: per matched contact with a non-blank EmailAddress and at least one hard
    bounce in ``window``, ``ContactId``, ``EmailAddress``, ``HardBouncedAt`` = its latest one, ``IsBounced`` =
    true and ``reason`` (:func:`spark.washing.with_identifier_reason`); suppressed when the snapshot already
    has ``IsBounced = true`` and ``HardBouncedAt >=`` that time."""

    def transform(activities: DataFrame) -> DataFrame:
        latest = (
            activities.transform(keep_hard_bounces(window))
            .transform(with_matched_contact(contacts))
            .filter(F.col(MATCHED_CONTACT_ID).isNotNull())
            .groupBy(MATCHED_CONTACT_ID)
            .agg(F.max("ActivityDate").alias("_hard_bounced_at"))
        )
        already_recorded = F.coalesce(
            (F.col("IsBounced") == F.lit(True)) & (F.col("HardBouncedAt") >= F.col("_hard_bounced_at")),
            F.lit(False),
        )
        return (
            contacts.join(latest, F.col("ContactId") == F.col(MATCHED_CONTACT_ID), "inner")
            .filter(~is_blank(F.col("EmailAddress")) & ~already_recorded)
            .select(
                F.col("ContactId"),
                F.col("EmailAddress"),
                F.col("_hard_bounced_at").alias("HardBouncedAt"),
                F.lit(True).alias("IsBounced"),
            )
            .transform(with_identifier_reason(contacts))
        )

    return transform


def hard_bounces_payload(contacts: DataFrame, window: TimeWindow) -> Transform:
    """The ``hard_bounces`` import rows: :func:`hard_bounces_rows` that may be loaded."""

    def transform(activities: DataFrame) -> DataFrame:
        return activities.transform(hard_bounces_rows(contacts, window)).transform(loadable_rows(PIPELINE))

    return transform


def hard_bounces_quarantine(contacts: DataFrame, window: TimeWindow) -> Transform:
    """The ``hard_bounces`` rows held back, with their ``reason``."""

    def transform(activities: DataFrame) -> DataFrame:
        return activities.transform(hard_bounces_rows(contacts, window)).transform(quarantined_rows(PIPELINE))

    return transform
