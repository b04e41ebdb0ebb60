"""Tiny hand-written DataFrames for the rule tests: a row is a dict naming only the columns that matter."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from typing import Any

from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import types as T

from spark.schemas import RAW_ACTIVITIES, RAW_CAMPAIGN_RESPONSES, RAW_CONTACTS, RAW_SFDC_CAMPAIGNS

D = dt.date(2026, 11, 27)


def ts(text: str) -> dt.datetime:
    """A UTC timestamp from ``'YYYY-MM-DD HH:MM:SS'`` (aware, so the process time zone never matters)."""
    return dt.datetime.fromisoformat(text).replace(tzinfo=dt.UTC)


def frame(spark: SparkSession, schema: T.StructType, rows: Iterable[Mapping[str, Any]]) -> DataFrame:
    """Rows (dicts; absent columns are null) as a DataFrame of ``schema``; unknown keys are an error."""
    names = schema.fieldNames()
    data = []
    for row in rows:
        unknown = set(row) - set(names)
        assert not unknown, f"unknown columns {unknown}"
        data.append(tuple(row.get(n) for n in names))
    return spark.createDataFrame(data, schema)


def contacts(spark: SparkSession, *rows: Mapping[str, Any]) -> DataFrame:
    return frame(spark, RAW_CONTACTS, rows)


def activities(spark: SparkSession, *rows: Mapping[str, Any]) -> DataFrame:
    return frame(spark, RAW_ACTIVITIES, rows)


def responses(spark: SparkSession, *rows: Mapping[str, Any]) -> DataFrame:
    return frame(spark, RAW_CAMPAIGN_RESPONSES, rows)


def campaigns(spark: SparkSession, *rows: Mapping[str, Any]) -> DataFrame:
    return frame(spark, RAW_SFDC_CAMPAIGNS, rows)


def rows_of(schema: T.StructType, *rows: Mapping[str, Any]) -> list[tuple[Any, ...]]:
    return [tuple(r.get(n) for n in schema.fieldNames()) for r in rows]
