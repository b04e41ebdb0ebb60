"""Staging (spec section 2): conform raw Parquet to the contract schema, dedupe, and build the contacts
snapshot.

Raw Parquet is already typed by the extract stage with the contract's types; staging only selects the contract
columns in order and casts (Arrow ``int64`` or ``timestamp_ntz`` variants become the contract's Spark types),
as dbt's staging layer does. Deduplication is deterministic: among rows sharing a key, the first by an
explicit order and then by every other column (nulls last) is kept.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence

from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F
from pyspark.sql import types as T
from pyspark.sql.window import Window

from spark.columns import day_window, utc_timestamp
from spark.schemas import RAW_ACTIVITIES, RAW_CAMPAIGN_RESPONSES, RAW_CONTACTS, RAW_SFDC_CAMPAIGNS

Transform = Callable[[DataFrame], DataFrame]


class SchemaMismatchError(ValueError):
    """A DataFrame lacks columns its contract schema requires."""


def conform_to(schema: T.StructType) -> Transform:
    """Select exactly ``schema``'s columns, in its order, cast to its types; extra columns are dropped.

    Raises :class:`SchemaMismatchError` naming the missing columns (checked on the plan, no Spark job).
    """

    def transform(df: DataFrame) -> DataFrame:
        missing = [f.name for f in schema.fields if f.name not in df.columns]
        if missing:
            raise SchemaMismatchError(
                f"input lacks contract column(s) {', '.join(missing)} (has {', '.join(df.columns)}): "
                "re-export it with the contract's fields"
            )
        return df.select([F.col(f.name).cast(f.dataType).alias(f.name) for f in schema.fields])

    return transform


def keep_one_row_per(keys: Sequence[str], order_by: Sequence[Column] = ()) -> Transform:
    """One row per key: the first by ``order_by`` then by every other column ascending, nulls last.

    Rows whose key is entirely null are kept as one group like any other key; filter them first if they are
    not wanted. The tie-break on every column makes the choice deterministic whatever the input partitioning.
    """

    def transform(df: DataFrame) -> DataFrame:
        rest = [F.col(c).asc_nulls_last() for c in df.columns if c not in keys]
        window = Window.partitionBy(*keys).orderBy(*order_by, *rest)
        return (
            df.withColumn("_row_in_key", F.row_number().over(window))
            .filter(F.col("_row_in_key") == 1)
            .drop("_row_in_key")
        )

    return transform


def stage_contacts(raw: DataFrame) -> DataFrame:
    """Raw contacts conformed to the contract schema (no dedupe: the snapshot merge keeps the latest row)."""
    return raw.transform(conform_to(RAW_CONTACTS))


def stage_activities(raw: DataFrame) -> DataFrame:
    """Raw activities conformed to the contract schema; partition columns of the raw zone are dropped.

    Not deduplicated here: deduplication on ActivityId is a lead_scoring rule (spec 3.3) and a duplicate
    cannot change a hard bounce's latest date.
    """
    return raw.transform(conform_to(RAW_ACTIVITIES))


def stage_campaign_responses(raw: DataFrame) -> DataFrame:
    """Raw Campaign Responses conformed, one row per ResponseId (rows with a null ResponseId are dropped)."""
    return (
        raw.transform(conform_to(RAW_CAMPAIGN_RESPONSES))
        .filter(F.col("ResponseId").isNotNull())
        .transform(keep_one_row_per(["ResponseId"], [F.col("RespondedAt").desc_nulls_last()]))
    )


def stage_sfdc_campaigns(raw: DataFrame) -> DataFrame:
    """Raw Salesforce Campaigns conformed, one row per CampaignId (rows with a null CampaignId are
    dropped)."""
    return (
        raw.transform(conform_to(RAW_SFDC_CAMPAIGNS))
        .filter(F.col("CampaignId").isNotNull())
        .transform(keep_one_row_per(["CampaignId"]))
    )


def build_contacts_snapshot(
    run_date: dt.date, exports: Sequence[DataFrame], previous: DataFrame | None = None
) -> DataFrame:
    """The contacts snapshot for D: per ContactId, the latest row by UpdatedAt among rows with ``UpdatedAt <
    D+1``.

    ``exports`` are raw contacts exports (the full export on a first run, else the daily increments after the
    previous snapshot), oldest first; ``previous`` is the snapshot of the latest earlier day, or None. On an
    UpdatedAt tie the newer source wins (a later export over an earlier one, any export over the previous
    snapshot), then the remaining columns decide. Rows with a null ContactId or UpdatedAt are dropped.
    """
    if not exports and previous is None:
        raise ValueError("a contacts snapshot needs at least one export or a previous snapshot")
    sources = [] if previous is None else [previous]
    sources.extend(exports)
    combined: DataFrame | None = None
    for priority, source in enumerate(sources):
        ranked = stage_contacts(source).withColumn("_source_priority", F.lit(priority))
        combined = ranked if combined is None else combined.unionByName(ranked)
    assert combined is not None
    end = day_window(run_date).end
    return (
        combined.filter(F.col("ContactId").isNotNull())
        .filter(F.col("UpdatedAt") < utc_timestamp(end))
        .transform(
            keep_one_row_per(["ContactId"], [F.col("UpdatedAt").desc(), F.col("_source_priority").desc()])
        )
        .drop("_source_priority")
        .transform(conform_to(RAW_CONTACTS))
    )


def merge_increment(increment: DataFrame, run_date: dt.date) -> Transform:
    """``previous_snapshot.transform(merge_increment(raw_export, D))``: the snapshot for D (see above)."""

    def transform(previous: DataFrame) -> DataFrame:
        return build_contacts_snapshot(run_date, [increment], previous)

    return transform
