"""Spark schemas derived from the data contract (``contract.objects``); nothing here names a contract column.

Raw objects, payloads and the quarantine get a :class:`StructType` each; every field is nullable because
Eloqua may leave any field empty. Reference data schemas (``conf/reference/*.csv``) live here too.
"""

from __future__ import annotations

from collections.abc import Iterable

from pyspark.sql import types as T

from contract.objects import (
    ACTIVITIES,
    CAMPAIGN_RESPONSES,
    CONTACTS,
    OBJECTS,
    PAYLOADS,
    SFDC_CAMPAIGNS,
    Column,
    EloquaObject,
    LogicalType,
)

_SPARK_TYPES: dict[str, T.DataType] = {
    "string": T.StringType(),
    "int": T.IntegerType(),
    "timestamp": T.TimestampType(),
    "boolean": T.BooleanType(),
}

QUARANTINE_REASON = "reason"
"""The column every quarantine dataset adds to the raw columns: why the row was held back."""


def spark_type(logical: LogicalType) -> T.DataType:
    """The Spark type of a contract logical type (``timestamp`` is UTC-adjusted ``TimestampType``)."""
    try:
        return _SPARK_TYPES[logical]
    except KeyError:
        raise ValueError(
            f"unknown logical type {logical!r}: expected one of {sorted(_SPARK_TYPES)}"
        ) from None


def struct_of(columns: Iterable[Column]) -> T.StructType:
    """A nullable ``StructType`` with the columns in the given order."""
    return T.StructType([T.StructField(c.name, spark_type(c.type), nullable=True) for c in columns])


def object_schema(obj: EloquaObject) -> T.StructType:
    return struct_of(obj.columns)


RAW_CONTACTS = object_schema(CONTACTS)
RAW_ACTIVITIES = object_schema(ACTIVITIES)
RAW_CAMPAIGN_RESPONSES = object_schema(CAMPAIGN_RESPONSES)
RAW_SFDC_CAMPAIGNS = object_schema(SFDC_CAMPAIGNS)

RAW_SCHEMAS: dict[str, T.StructType] = {name: object_schema(obj) for name, obj in OBJECTS.items()}
"""Raw schema per contract object name (``contacts``, ``activities``, ``campaign_responses``,
``sfdc_campaigns``)."""

PAYLOAD_SCHEMAS: dict[str, T.StructType] = {name: struct_of(p.columns) for name, p in PAYLOADS.items()}
"""Schema of each ``import_ready`` dataset, keyed by pipeline."""

QUARANTINE_CAMPAIGN_RESPONSES = T.StructType(
    [*RAW_CAMPAIGN_RESPONSES.fields, T.StructField(QUARANTINE_REASON, T.StringType(), nullable=True)]
)

# conf/reference/*.csv
COUNTRIES_REFERENCE = T.StructType(
    [
        T.StructField("alias", T.StringType(), nullable=False),
        T.StructField("iso2", T.StringType(), nullable=False),
    ]
)
STATES_REFERENCE = T.StructType(
    [
        T.StructField("country_iso", T.StringType(), nullable=False),
        T.StructField("alias", T.StringType(), nullable=False),
        T.StructField("code", T.StringType(), nullable=False),
    ]
)
JOB_LEVELS_REFERENCE = T.StructType(
    [
        T.StructField("pattern", T.StringType(), nullable=False),
        T.StructField("level", T.StringType(), nullable=False),
    ]
)
