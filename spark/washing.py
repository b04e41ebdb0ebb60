"""``contact_washing`` (spec 3.1): normalised email, ISO country, state/province code and job level per
contact.

Reference data comes in as values: ``countries`` (``alias, iso2``) and ``states`` (``country_iso, alias,
code``) DataFrames read from ``conf/reference/*.csv``, and the job-level rules as an ordered sequence of
``(pattern, level)`` pairs (a CASE WHEN chain compiles each regex once; a join on patterns would compile one
per row). The computed columns are snake_case (``email_norm``, ``email_valid``, ``country_iso``,
``state_code``, ``job_level``) so they never shadow the Eloqua values they are compared with.

Identifier hygiene, shared by the three contact payloads: a row whose EmailAddress is invalid or the address of
several contacts is held back with a ``reason`` (:func:`with_identifier_reason`), never loaded.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence

from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F
from pyspark.sql import types as T

from spark.columns import (
    any_differs,
    country_key,
    is_blank,
    is_valid_email,
    normalized_email,
    state_key,
)
from spark.schemas import PAYLOAD_SCHEMAS, QUARANTINE_REASON
from spark.staging import conform_to

Transform = Callable[[DataFrame], DataFrame]

JOB_LEVELS = ("C-Level", "VP", "Director", "Manager", "Individual Contributor", "Unknown")
UNKNOWN_JOB_LEVEL = "Unknown"
STATE_LOOKUP_COUNTRIES = ("US", "CA")

JobLevelRule = tuple[str, str]


def with_normalized_email(df: DataFrame) -> DataFrame:
    """Adds ``email_norm = lower(trim(EmailAddress))`` and ``email_valid`` (the spec's pattern; null for
    null)."""
    return df.withColumn("email_norm", normalized_email(F.col("EmailAddress"))).withColumn(
        "email_valid", is_valid_email(F.col("EmailAddress"))
    )


def with_country_iso(countries: DataFrame) -> Transform:
    """Adds ``country_iso``: the ISO-2 code whose alias equals the normalised Country key, else null.

    ``countries`` must map each alias to one code (``conf/reference/countries.csv`` is checked for that).
    """

    def transform(df: DataFrame) -> DataFrame:
        lookup = F.broadcast(
            countries.select(F.col("alias").alias("_country_alias"), F.col("iso2").alias("country_iso"))
        )
        return df.join(lookup, country_key(F.col("Country")) == F.col("_country_alias"), "left").drop(
            "_country_alias"
        )

    return transform


def with_state_code(states: DataFrame) -> Transform:
    """Adds ``state_code``: for ``country_iso`` US or CA the code whose alias equals
    ``upper(trim(StateProv))``; otherwise (no match, another or no country) ``trim(StateProv)``. Needs
    ``country_iso``.
    """

    def transform(df: DataFrame) -> DataFrame:
        lookup = F.broadcast(
            states.filter(F.col("country_iso").isin(*STATE_LOOKUP_COUNTRIES)).select(
                F.col("country_iso").alias("_state_country"),
                F.col("alias").alias("_state_alias"),
                F.col("code").alias("_state_code"),
            )
        )
        joined = df.join(
            lookup,
            (F.col("country_iso") == F.col("_state_country"))
            & (state_key(F.col("StateProv")) == F.col("_state_alias")),
            "left",
        )
        return joined.withColumn(
            "state_code", F.coalesce(F.col("_state_code"), F.trim(F.col("StateProv")))
        ).drop("_state_country", "_state_alias", "_state_code")

    return transform


def check_job_level_rules(rules: Sequence[JobLevelRule]) -> None:
    """Raises ValueError (one line) for an unknown level or a pattern Python's ``re`` cannot compile."""
    for number, (pattern, level) in enumerate(rules, start=1):
        if level not in JOB_LEVELS:
            raise ValueError(
                f"job-level rule {number} has level {level!r}: expected one of {', '.join(JOB_LEVELS)}"
            )
        try:
            re.compile(pattern)
        except re.error as err:
            raise ValueError(
                f"job-level rule {number} pattern {pattern!r} is not a valid regex: {err}"
            ) from None


def job_level(title: Column, rules: Sequence[JobLevelRule]) -> Column:
    """The level of the first rule whose case-insensitive pattern is found in ``title``; ``Unknown`` when none
    matches or the title is null or blank."""
    check_job_level_rules(rules)
    level = F.when(is_blank(title), F.lit(UNKNOWN_JOB_LEVEL))
    for pattern, name in rules:
        level = level.when(title.rlike(f"(?i){pattern}"), F.lit(name))
    return level.otherwise(F.lit(UNKNOWN_JOB_LEVEL))


def with_job_level(rules: Sequence[JobLevelRule]) -> Transform:
    """Adds ``job_level`` computed from ``Title`` with the ordered ``rules``."""

    def transform(df: DataFrame) -> DataFrame:
        return df.withColumn("job_level", job_level(F.col("Title"), rules))

    return transform


def wash_contacts(countries: DataFrame, states: DataFrame, rules: Sequence[JobLevelRule]) -> Transform:
    """Every 3.1 column on the contacts snapshot: ``email_norm``, ``email_valid``, ``country_iso``,
    ``state_code``, ``job_level``. One row per input row; the snapshot's own columns are kept unchanged."""

    def transform(contacts: DataFrame) -> DataFrame:
        return (
            contacts.transform(with_normalized_email)
            .transform(with_country_iso(countries))
            .transform(with_state_code(states))
            .transform(with_job_level(rules))
        )

    return transform


def contact_washing_rows(washed: DataFrame) -> DataFrame:
    """The ``contact_washing`` rows from washed contacts (the whole snapshot): ``ContactId``, ``EmailAddress``,
    ``Country`` = ``coalesce(country_iso, Country)``, ``StateProv`` = ``state_code``, ``JobLevel`` =
    ``job_level`` and ``reason`` (:func:`with_identifier_reason`); only contacts with a non-blank EmailAddress
    where one of the three differs (null-safe) from the snapshot."""
    new_country = F.coalesce(F.col("country_iso"), F.col("Country"))
    changed = any_differs(
        [
            (new_country, F.col("Country")),
            (F.col("state_code"), F.col("StateProv")),
            (F.col("job_level"), F.col("JobLevel")),
        ]
    )
    return (
        washed.filter(~is_blank(F.col("EmailAddress")) & changed)
        .select(
            F.col("ContactId"),
            F.col("EmailAddress"),
            new_country.alias("Country"),
            F.col("state_code").alias("StateProv"),
            F.col("job_level").alias("JobLevel"),
        )
        .transform(with_identifier_reason(washed))
    )


def contact_washing_payload(washed: DataFrame) -> DataFrame:
    """The ``contact_washing`` import rows: :func:`contact_washing_rows` that may be loaded."""
    return contact_washing_rows(washed).transform(loadable_rows("contact_washing"))


def contact_washing_quarantine(washed: DataFrame) -> DataFrame:
    """The ``contact_washing`` rows held back, with their ``reason``."""
    return contact_washing_rows(washed).transform(quarantined_rows("contact_washing"))


# --- identifier hygiene (every contact payload) ------------------------------------------------------------

REASON_INVALID_EMAIL = "invalid_email_address"
REASON_SHARED_EMAIL = "shared_email_address"


def quarantine_schema(pipeline: str) -> T.StructType:
    """A contact payload's quarantine: ``ContactId``, the payload's columns, ``reason``."""
    return T.StructType([
        T.StructField("ContactId", T.StringType(), nullable=True),
        *PAYLOAD_SCHEMAS[pipeline].fields,
        T.StructField(QUARANTINE_REASON, T.StringType(), nullable=True),
    ])


def with_identifier_reason(contacts: DataFrame) -> Transform:
    """Adds ``reason`` to contact payload rows (``ContactId``, ``EmailAddress``, ...): why the row cannot be
    loaded by its EmailAddress, or null when it can.

    Eloqua matches contacts on the address, so a row whose ``lower(trim(EmailAddress))`` fails the validity
    pattern (``invalid_email_address``), or is the address of more than one contact of ``contacts`` (the
    snapshot; ``shared_email_address``), would be refused or written onto another contact. Invalid wins.
    """

    def transform(rows: DataFrame) -> DataFrame:
        shared = (
            contacts.filter(~is_blank(F.col("EmailAddress")))
            .groupBy(normalized_email(F.col("EmailAddress")).alias("_shared_email"))
            .agg(F.count(F.lit(1)).alias("_contacts"))
            .filter(F.col("_contacts") > 1)
            .select("_shared_email")
        )
        reason = F.when(
            ~F.coalesce(is_valid_email(F.col("EmailAddress")), F.lit(False)), F.lit(REASON_INVALID_EMAIL)
        ).when(F.col("_shared_email").isNotNull(), F.lit(REASON_SHARED_EMAIL))
        return (
            rows.join(shared, normalized_email(F.col("EmailAddress")) == F.col("_shared_email"), "left")
            .withColumn(QUARANTINE_REASON, reason)
            .drop("_shared_email")
        )

    return transform


def loadable_rows(pipeline: str) -> Transform:
    """The rows without a ``reason``, as the payload's columns: what goes to ``import_ready``."""

    def transform(rows: DataFrame) -> DataFrame:
        schema = PAYLOAD_SCHEMAS[pipeline]
        return (
            rows.filter(F.col(QUARANTINE_REASON).isNull())
            .select(*schema.fieldNames())
            .transform(conform_to(schema))
        )

    return transform


def quarantined_rows(pipeline: str) -> Transform:
    """The rows with a ``reason``: ``ContactId``, the payload's columns, ``reason``."""

    def transform(rows: DataFrame) -> DataFrame:
        schema = quarantine_schema(pipeline)
        return (
            rows.filter(F.col(QUARANTINE_REASON).isNotNull())
            .select(*schema.fieldNames())
            .transform(conform_to(schema))
        )

    return transform
