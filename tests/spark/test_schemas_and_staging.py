"""Schemas derived from the contract; staging (conform, dedupe) and the contacts snapshot merge (spec 2)."""

from __future__ import annotations

import datetime as dt

import pytest
from chispa import assert_df_equality
from pyspark.sql import functions as F
from pyspark.sql import types as T

from contract.objects import OBJECTS, PAYLOADS
from spark.schemas import PAYLOAD_SCHEMAS, QUARANTINE_CAMPAIGN_RESPONSES, RAW_CONTACTS, RAW_SCHEMAS
from spark.staging import (
    SchemaMismatchError,
    build_contacts_snapshot,
    conform_to,
    keep_one_row_per,
    merge_increment,
    stage_campaign_responses,
    stage_sfdc_campaigns,
)
from tests.spark.builders import D, campaigns, contacts, frame, responses, ts

pytestmark = pytest.mark.spark


def test_raw_schemas_follow_the_contract_columns_in_order() -> None:
    for name, obj in OBJECTS.items():
        assert RAW_SCHEMAS[name].fieldNames() == list(obj.column_names)
    assert RAW_CONTACTS["ProfileScore"].dataType == T.IntegerType()
    assert RAW_CONTACTS["HardBouncedAt"].dataType == T.TimestampType()
    assert RAW_CONTACTS["IsBounced"].dataType == T.BooleanType()


def test_payload_schemas_follow_the_contract_payloads() -> None:
    for name, payload in PAYLOADS.items():
        assert PAYLOAD_SCHEMAS[name].fieldNames() == list(payload.column_names)
    assert QUARANTINE_CAMPAIGN_RESPONSES.fieldNames() == [
        *OBJECTS["campaign_responses"].column_names,
        "reason",
    ]


def test_conform_to_casts_reorders_and_drops_extra_columns(spark) -> None:
    raw = spark.createDataFrame(
        [(7, "a@x.com", "extra")], "ProfileScore bigint, EmailAddress string, activity_date string"
    )
    schema = T.StructType(
        [T.StructField("EmailAddress", T.StringType()), T.StructField("ProfileScore", T.IntegerType())]
    )
    expected = spark.createDataFrame([("a@x.com", 7)], schema)
    assert_df_equality(raw.transform(conform_to(schema)), expected, ignore_nullable=True)


def test_conform_to_names_missing_contract_columns(spark) -> None:
    raw = spark.createDataFrame([("a@x.com",)], "EmailAddress string")
    with pytest.raises(SchemaMismatchError, match="ContactId"):
        raw.transform(conform_to(RAW_CONTACTS))


def test_conform_to_turns_timestamp_ntz_into_utc_timestamps(spark) -> None:
    raw = spark.createDataFrame([(dt.datetime(2026, 11, 27, 5, 0),)], "UpdatedAt timestamp_ntz")
    schema = T.StructType([T.StructField("UpdatedAt", T.TimestampType())])
    expected = spark.createDataFrame([(ts("2026-11-27 05:00:00"),)], schema)
    assert_df_equality(raw.transform(conform_to(schema)), expected, ignore_nullable=True)


def test_keep_one_row_per_is_deterministic_on_full_duplicates_of_the_key(spark) -> None:
    df = spark.createDataFrame([("1", "b"), ("1", "a"), ("2", None), ("2", "c")], "k string, v string")
    expected = spark.createDataFrame([("1", "a"), ("2", "c")], "k string, v string")
    assert_df_equality(df.transform(keep_one_row_per(["k"])), expected, ignore_row_order=True)


def test_stage_campaign_responses_keeps_one_row_per_response_id_and_drops_null_ids(spark) -> None:
    raw = responses(
        spark,
        {"ResponseId": "R1", "RespondedAt": ts("2026-11-27 08:00:00"), "ResponseStatus": "old"},
        {"ResponseId": "R1", "RespondedAt": ts("2026-11-27 09:00:00"), "ResponseStatus": "new"},
        {"ResponseId": None, "RespondedAt": ts("2026-11-27 09:00:00")},
    )
    expected = responses(
        spark, {"ResponseId": "R1", "RespondedAt": ts("2026-11-27 09:00:00"), "ResponseStatus": "new"}
    )
    assert_df_equality(stage_campaign_responses(raw), expected, ignore_nullable=True)


def test_stage_sfdc_campaigns_keeps_one_row_per_campaign_id(spark) -> None:
    raw = campaigns(
        spark,
        {"CampaignId": "C1", "CampaignName": "B"},
        {"CampaignId": "C1", "CampaignName": "A"},
        {"CampaignId": None, "CampaignName": "orphan"},
    )
    expected = campaigns(spark, {"CampaignId": "C1", "CampaignName": "A"})
    assert_df_equality(stage_sfdc_campaigns(raw), expected, ignore_nullable=True)


# --- contacts snapshot --------------------------------------------------------------------------------------


def _c(contact_id: str, updated: str, email: str = "x@example.com") -> dict:
    return {"ContactId": contact_id, "EmailAddress": email, "UpdatedAt": ts(updated)}


def test_first_snapshot_keeps_the_latest_row_per_contact_of_the_full_export(spark) -> None:
    full = contacts(
        spark,
        _c("1", "2026-11-20 10:00:00", "old@x.com"),
        _c("1", "2026-11-26 10:00:00", "new@x.com"),
        _c("2", "2026-01-01 00:00:00"),
    )
    expected = contacts(spark, _c("1", "2026-11-26 10:00:00", "new@x.com"), _c("2", "2026-01-01 00:00:00"))
    assert_df_equality(
        build_contacts_snapshot(D, [full]), expected, ignore_row_order=True, ignore_nullable=True
    )


def test_snapshot_merges_the_increment_into_the_previous_snapshot(spark) -> None:
    previous = contacts(spark, _c("1", "2026-11-20 10:00:00", "old@x.com"), _c("2", "2026-11-01 00:00:00"))
    increment = contacts(spark, _c("1", "2026-11-27 09:00:00", "new@x.com"), _c("3", "2026-11-27 01:00:00"))
    expected = contacts(
        spark,
        _c("1", "2026-11-27 09:00:00", "new@x.com"),
        _c("2", "2026-11-01 00:00:00"),
        _c("3", "2026-11-27 01:00:00"),
    )
    actual = previous.transform(merge_increment(increment, D))
    assert_df_equality(actual, expected, ignore_row_order=True, ignore_nullable=True)


def test_snapshot_keeps_the_previous_row_when_it_is_newer_than_the_increment(spark) -> None:
    previous = contacts(spark, _c("1", "2026-11-27 12:00:00", "previous@x.com"))
    increment = contacts(spark, _c("1", "2026-11-27 08:00:00", "increment@x.com"))
    expected = contacts(spark, _c("1", "2026-11-27 12:00:00", "previous@x.com"))
    assert_df_equality(previous.transform(merge_increment(increment, D)), expected, ignore_nullable=True)


def test_snapshot_tie_on_updated_at_goes_to_the_increment(spark) -> None:
    previous = contacts(spark, _c("1", "2026-11-27 08:00:00", "a-previous@x.com"))
    increment = contacts(spark, _c("1", "2026-11-27 08:00:00", "z-increment@x.com"))
    expected = contacts(spark, _c("1", "2026-11-27 08:00:00", "z-increment@x.com"))
    assert_df_equality(previous.transform(merge_increment(increment, D)), expected, ignore_nullable=True)


def test_snapshot_tie_inside_one_export_is_broken_by_the_other_columns(spark) -> None:
    export = contacts(
        spark, _c("1", "2026-11-27 08:00:00", "b@x.com"), _c("1", "2026-11-27 08:00:00", "a@x.com")
    )
    expected = contacts(spark, _c("1", "2026-11-27 08:00:00", "a@x.com"))
    assert_df_equality(build_contacts_snapshot(D, [export]), expected, ignore_nullable=True)


def test_snapshot_later_export_wins_a_tie_over_an_earlier_one(spark) -> None:
    earlier = contacts(spark, _c("1", "2026-11-27 08:00:00", "a-earlier@x.com"))
    later = contacts(spark, _c("1", "2026-11-27 08:00:00", "z-later@x.com"))
    expected = contacts(spark, _c("1", "2026-11-27 08:00:00", "z-later@x.com"))
    assert_df_equality(build_contacts_snapshot(D, [earlier, later]), expected, ignore_nullable=True)


@pytest.mark.parametrize(
    ("updated", "kept"),
    [
        ("2026-11-27 23:59:59", True),  # last second of D
        ("2026-11-28 00:00:00", False),  # D+1 00:00:00 is outside
    ],
)
def test_snapshot_holds_only_rows_updated_before_the_next_day(spark, updated: str, kept: bool) -> None:
    export = contacts(spark, _c("1", "2026-11-20 00:00:00", "old@x.com"), _c("1", updated, "new@x.com"))
    expected = contacts(
        spark, _c("1", updated, "new@x.com") if kept else _c("1", "2026-11-20 00:00:00", "old@x.com")
    )
    assert_df_equality(build_contacts_snapshot(D, [export]), expected, ignore_nullable=True)


def test_snapshot_drops_rows_without_contact_id_or_updated_at(spark) -> None:
    export = contacts(
        spark,
        {"ContactId": None, "UpdatedAt": ts("2026-11-27 01:00:00")},
        {"ContactId": "2", "UpdatedAt": None},
        _c("3", "2026-11-27 01:00:00"),
    )
    expected = contacts(spark, _c("3", "2026-11-27 01:00:00"))
    assert_df_equality(build_contacts_snapshot(D, [export]), expected, ignore_nullable=True)


def test_snapshot_conforms_to_the_contract_schema(spark) -> None:
    export = frame(spark, RAW_CONTACTS, [_c("1", "2026-11-27 01:00:00")]).withColumn(
        "ProfileScore", F.lit(5).cast("bigint")
    )
    actual = build_contacts_snapshot(D, [export]).schema
    assert [(f.name, f.dataType) for f in actual.fields] == [
        (f.name, f.dataType) for f in RAW_CONTACTS.fields
    ]
