"""Definition validation and filter scoping, without a server."""

from __future__ import annotations

from datetime import date, datetime, timedelta

import pytest
from scc_sandbox.catalog import ACTIVITY_ENTITY, CONTACT_ENTITY, CUSTOM_OBJECTS
from scc_sandbox.definitions import (
    compile_definition_filter,
    scope_days,
    validate_export,
    validate_import,
)
from scc_sandbox.formats import api_ts, import_value, parse_duration, parse_timestamp

EMAIL = "{{Contact.Field(C_EmailAddress)}}"


def constraints(body: dict, entity=CONTACT_ENTITY, kind: str = "export") -> list[tuple[str, str]]:
    validate = validate_export if kind == "export" else validate_import
    _definition, failures = validate(body, entity)
    return [(f["field"], f["constraint"]) for f in failures]


def test_a_valid_export_gets_the_default_retention() -> None:
    definition, failures = validate_export({"name": "x", "fields": {"E": EMAIL}}, CONTACT_ENTITY)
    assert failures == []
    assert definition == {"name": "x", "fields": {"E": EMAIL}, "dataRetentionDuration": "PT12H"}


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"fields": {"E": EMAIL}}, "name"),  # name missing
        ({"name": "x" * 101, "fields": {"E": EMAIL}}, "name"),  # name too long
        ({"name": "x", "fields": {}}, "fields"),  # no fields
        ({"name": "x", "fields": {"E": "C_EmailAddress"}}, "fields.E"),  # not EML
        ({"name": "x", "fields": {"E": "{{Contact.Field(C_Nope)}}"}}, "fields.E"),  # unknown field
        ({"name": "x", "fields": {f"f{i}": EMAIL for i in range(251)}}, "fields"),  # over 250 fields
        ({"name": "x", "fields": {"E": EMAIL}, "filter": "'" + EMAIL + "' = '" + "a" * 1000 + "'"}, "filter"),
        (
            {
                "name": "x",
                "fields": {"E": EMAIL},
                "filter": "EXISTS('{{ContactList[1]}}') AND EXISTS('{{ContactList[2]}}')",
            },
            "filter",
        ),  # two EXISTS
        (
            {
                "name": "x",
                "fields": {"E": EMAIL},
                "filter": "STATUS('{{ActionInstance(a)}}') = 'pending' AND "
                "STATUS('{{ActionInstance(b)}}') = 'pending'",
            },
            "filter",
        ),  # two STATUS
        ({"name": "x", "fields": {"E": EMAIL}, "filter": "'{{Contact.Field(C_Nope)}}' = 'x'"}, "filter"),
        ({"name": "x", "fields": {"E": EMAIL}, "filter": "'" + EMAIL + "' = "}, "filter"),  # syntax
        ({"name": "x", "fields": {"E": EMAIL}, "filter": "EXISTS('{{ContactList[999]}}')"}, "filter"),
        ({"name": "x", "fields": {"E": EMAIL}, "dataRetentionDuration": "PT30M"}, "dataRetentionDuration"),
        ({"name": "x", "fields": {"E": EMAIL}, "dataRetentionDuration": "P15D"}, "dataRetentionDuration"),
        ({"name": "x", "fields": {"E": EMAIL}, "dataRetentionDuration": "12 hours"}, "dataRetentionDuration"),
        ({"name": "x", "fields": {"E": EMAIL}, "autoDeleteDuration": "PT5M"}, "autoDeleteDuration"),
        ({"name": "x", "fields": {"E": EMAIL}, "maxRecords": 0}, "maxRecords"),
        (
            {
                "name": "x",
                "fields": {"E": EMAIL},
                "syncActions": [{"action": "add", "destination": "{{ContactList[1]}}"}] * 11,
            },
            "syncActions",
        ),
    ],
)
def test_invalid_exports_are_refused_with_a_failure_on_the_field(body: dict, field: str) -> None:
    assert field in [f for f, _c in constraints(body)]


def test_contact_fields_are_refused_in_activity_filters() -> None:
    body = {
        "name": "a",
        "fields": {"Id": "{{Activity.Id}}"},
        "filter": "'{{Activity.Type}}' = 'EmailOpen' AND '{{Contact.Field(C_Country)}}' = 'US'",
    }
    assert constraints(body, ACTIVITY_ENTITY) == [
        ("filter", "Contact fields cannot be used in an activity export filter.")
    ]


def test_activity_exports_accept_only_activity_statements() -> None:
    body = {"name": "a", "fields": {"E": EMAIL}}
    assert [f for f, _c in constraints(body, ACTIVITY_ENTITY)] == ["fields.E"]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"name": "i", "fields": {"E": EMAIL}}, "identifierFieldName"),  # missing
        (
            {"name": "i", "fields": {"E": EMAIL}, "identifierFieldName": "Email"},
            "identifierFieldName",
        ),  # not a key
        (
            {
                "name": "i",
                "fields": {"E": EMAIL, "H": "{{Contact.Field(C_Hard_Bounced_At1)}}"},
                "identifierFieldName": "H",
            },
            "identifierFieldName",
        ),  # date identifier
        (
            {"name": "i", "fields": {"E": EMAIL, "U": "{{Contact.UpdatedAt}}"}, "identifierFieldName": "E"},
            "fields.U",
        ),  # read-only field
        (
            {"name": "i", "fields": {"E": EMAIL}, "identifierFieldName": "E", "updateRule": "sometimes"},
            "updateRule",
        ),
        (
            {"name": "i", "fields": {f"f{i}": EMAIL for i in range(101)}, "identifierFieldName": "f0"},
            "fields",
        ),
    ],
)
def test_invalid_imports_are_refused(body: dict, field: str) -> None:
    assert field in [f for f, _c in constraints(body, kind="import")]


def test_import_defaults() -> None:
    definition, failures = validate_import(
        {"name": "i", "fields": {"E": EMAIL}, "identifierFieldName": "E"}, CONTACT_ENTITY
    )
    assert failures == []
    assert definition["isSyncTriggeredOnImport"] is True
    assert definition["updateRule"] == "always"
    assert definition["dataRetentionDuration"] == "P7D"


def test_activity_filters_scope_generation_to_the_types_and_days_they_can_match() -> None:
    days = [date(2026, 11, 20) + timedelta(days=k) for k in range(7)]
    f = compile_definition_filter(
        "'{{Activity.Type}}' = 'bounceback' AND '{{Activity.CreatedAt}}' >= '2026-11-24 00:00:00' "
        "AND '{{Activity.CreatedAt}}' < '2026-11-25 00:00:00'",
        ACTIVITY_ENTITY,
    )
    assert f.activity_types == ("Bounceback",)
    assert scope_days(f.date_bounds, days) == [date(2026, 11, 24), date(2026, 11, 25)]
    either = compile_definition_filter(
        "'{{Activity.Type}}' = 'EmailOpen' OR '{{Activity.Type}}' = 'EmailSend'", ACTIVITY_ENTITY
    )
    assert set(either.activity_types) == {"EmailOpen", "EmailSend"}
    assert scope_days(either.date_bounds, days) == days
    negated = compile_definition_filter("NOT '{{Activity.Type}}' = 'EmailOpen'", ACTIVITY_ENTITY)
    assert "EmailOpen" in negated.activity_types  # NOT leaves the scope open: sound, not minimal


def test_exists_uses_the_list_membership_rule() -> None:
    f = compile_definition_filter("EXISTS('{{ContactList[1]}}')", CONTACT_ENTITY)
    assert f.predicate is not None
    assert [f.predicate({"id": i}) for i in (3, 4, 6)] == [True, False, True]


def test_custom_object_fields_are_addressed_by_id() -> None:
    cdo = CUSTOM_OBJECTS[41].entity
    _d, failures = validate_export({"name": "c", "fields": {"R": "{{CustomObject[41].Field[1001]}}"}}, cdo)
    assert failures == []
    _d, failures = validate_export({"name": "c", "fields": {"R": "{{CustomObject[41].Field[1021]}}"}}, cdo)
    assert failures


def test_formats() -> None:
    assert parse_duration("PT12H") == timedelta(hours=12)
    assert parse_duration("P14D") == timedelta(days=14)
    assert parse_duration("P") is None and parse_duration("PT") is None and parse_duration(12) is None
    assert parse_timestamp("2026-11-26 10:00:00.123") == datetime(2026, 11, 26, 10, 0, 0, 123000)
    assert parse_timestamp("2026-11-26T10:00:00+01:00") == datetime(2026, 11, 26, 9)
    assert parse_timestamp("11/26/2026 1:05 PM") == datetime(2026, 11, 26, 13, 5)
    assert parse_timestamp("yesterday") is None
    assert api_ts(datetime(2020, 9, 15, 22, 58, 23, 870551)) == "2020-09-15T22:58:23.8705510Z"
    assert import_value("42", "number") == 42 and import_value(" ", "number") is None
    assert import_value("TRUE", "boolean") == 1
    assert import_value("2026-11-26", "date") == "2026-11-26 00:00:00.000"
