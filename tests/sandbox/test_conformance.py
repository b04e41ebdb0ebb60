"""Conformance of the sandbox with Eloqua's documented behaviour, one table per endpoint and statement family.

Each case id names the Oracle documentation page it follows (Oracle Eloqua Developer Help Center, Bulk API).
Every case goes over a real socket to a sandbox in US Eastern time (the instance default).
"""

from __future__ import annotations

import pytest

from tests.fixtures.sandbox import SandboxHandle
from tests.sandbox.bulk import export_rows, get, in_instance_time, post

pytestmark = pytest.mark.integration

C_ID, UPDATED, HARD = "{{Contact.Id}}", "{{Contact.UpdatedAt}}", "{{Contact.Field(C_Hard_Bounced_At1)}}"


# --- field catalogs --------------------------------------------------------------------------------------

CATALOG = [
    # (page, path, params, field name, expected subset of the item)
    ("Reference > activity-fields: ActivityId", "/activities/fields", {"activityType": "EmailOpen"}, "ActivityId",
     {"statement": "{{Activity.Id}}"}),
    ("Reference > activity-fields: ActivityDate", "/activities/fields", {"activityType": "EmailOpen"},
     "ActivityDate", {"statement": "{{Activity.CreatedAt}}", "dataType": "date"}),
    ("Reference > activity-fields: ContactId", "/activities/fields", {"activityType": "WebVisit"}, "ContactId",
     {"statement": "{{Activity.Contact.Id}}"}),
    ("Reference > activity-fields: SmtpErrorCode is Bounceback's", "/activities/fields",
     {"activityType": "Bounceback"}, "SmtpErrorCode", {"activityTypes": ["Bounceback"]}),
    ("Tutorials > FieldsMetadata: Email Address", "/contacts/fields", {}, "Email Address",
     {"internalName": "C_EmailAddress", "dataType": "emailAddress", "hasUniquenessConstraint": True}),
    ("Tutorials > FieldsMetadata: standard ContactIDExt", "/contacts/fields", {}, "Eloqua Contact ID",
     {"statement": "{{Contact.Field(ContactIDExt)}}"}),
    ("Reference > system-timestamps: C_LastModifiedByExtIntegrateSystem", "/contacts/fields", {},
     "Last Modified by CRM System", {"dataType": "date"}),
]


@pytest.mark.parametrize(("page", "path", "params", "name", "expected"), CATALOG, ids=[c[0] for c in CATALOG])
def test_field_catalogs(sandbox: SandboxHandle, page, path, params, name, expected) -> None:
    items = get(sandbox, path, **params).json()["items"]
    item = next(i for i in items if i["name"] == name)
    assert {k: item[k] for k in expected} == expected


def test_bounceback_only_fields_are_not_offered_to_other_types(sandbox: SandboxHandle) -> None:
    # Reference > activity-fields: each activity type has its own set of fields
    opens = {i["name"] for i in get(sandbox, "/activities/fields", activityType="EmailOpen").json()["items"]}
    assert "SmtpErrorCode" not in opens and "ActivityId" in opens


# --- endpoints ---------------------------------------------------------------------------------------------

ENDPOINTS = [
    ("Reference > contacts-lists-id-get", "/contacts/lists/1", 200, {"statement": "{{ContactList[1]}}"}),
    ("Reference > contacts-segments-id-get", "/contacts/segments/1", 200, {"statement": "{{ContactSegment[1]}}"}),
    ("Reference > contacts-lists-id-get: unknown id", "/contacts/lists/999", 404, None),
    ("Reference > syncs-get: orderBy", "/syncs?orderBy=nosuchfield", 400, None),
]


@pytest.mark.parametrize(("page", "path", "status", "expected"), ENDPOINTS, ids=[c[0] for c in ENDPOINTS])
def test_endpoints(sandbox: SandboxHandle, page, path, status, expected) -> None:
    response = get(sandbox, path)
    assert response.status_code == status
    if expected:
        body = response.json()
        assert {k: body[k] for k in expected} == expected


def test_syncs_order_by_created_at_descending(sandbox: SandboxHandle) -> None:
    # Reference > syncs-get: orderBy
    export_rows(sandbox, "contacts", {"Id": C_ID}, maxRecords=1)
    items = get(sandbox, "/syncs", orderBy="createdAt DESC").json()["items"]
    created = [i["createdAt"] for i in items]
    assert len(created) >= 1 and created == sorted(created, reverse=True)


# --- definitions: statement families ---------------------------------------------------------------------

DEFINITIONS = [
    # (page, entity, fields, filter, expected status)
    ("Reference > eloqua-markup-language-v3: Contact.Email.Format", "contacts",
     {"F": "{{Contact.Email.Format}}"}, None, 201),
    ("Reference > eloqua-markup-language-v3: linked account field", "contacts",
     {"A": "{{Contact.Account.Field(M_CompanyName)}}"}, None, 201),
    ("Tutorials > Activities-export-definitions: campaign fields", "activities",
     {"C": "{{Activity.Campaign.Field(CRMCampaignId)}}", "N": "{{Activity.Campaign.Field(CampaignName)}}"},
     "'{{Activity.Type}}'='Bounceback'", 201),
    ("Tutorials > Activities-export-definitions: contact fields", "activities",
     {"E": "{{Activity.Contact.Field(C_EmailAddress)}}"}, "'{{Activity.Type}}'='EmailOpen'", 201),
    ("Tutorials > Activities-export-definitions: no contact fields in the filter", "activities",
     {"I": "{{Activity.Id}}"}, "'{{Activity.Contact.Field(C_Country)}}' = 'US'", 400),
    ("Reference > activity-fields: a Bounceback field on EmailOpen", "activities",
     {"S": "{{Activity.Field(SmtpErrorCode)}}"}, "'{{Activity.Type}}'='EmailOpen'", 400),
    ("Reference > eloqua-expression-language: segment with date criteria", "contacts", {"I": C_ID},
     f"EXISTS('{{{{ContactSegment[1]}}}}') AND '{UPDATED}' >= '2026-01-01 00:00:00'", 201),
    ("Reference > eloqua-expression-language: segment with another criterion", "contacts", {"I": C_ID},
     "EXISTS('{{ContactSegment[1]}}') AND '{{Contact.Field(C_Country)}}' = 'US'", 400),
    ("Reference > eloqua-expression-language: list with another criterion", "contacts", {"I": C_ID},
     "EXISTS('{{ContactList[1]}}') AND '{{Contact.Field(C_Country)}}' = 'US'", 400),
]


@pytest.mark.parametrize(("page", "entity", "fields", "flt", "status"), DEFINITIONS, ids=[c[0] for c in DEFINITIONS])
def test_definitions(sandbox: SandboxHandle, page, entity, fields, flt, status) -> None:
    body = {"name": page[:100], "fields": fields, **({"filter": flt} if flt else {})}
    response = post(sandbox, f"/{entity}/exports", body)
    assert response.status_code == status, response.text


def test_linked_account_fields_export_the_accounts_values(sandbox: SandboxHandle) -> None:
    # Reference > eloqua-markup-language-v3: related entities by dots
    rows = export_rows(sandbox, "contacts", {"I": C_ID, "A": "{{Contact.Account.Field(M_CompanyName)}}"})
    accounts = {r["{{Account.Id}}"]: r["{{Account.Field(M_CompanyName)}}"] for r in sandbox.dump("accounts")}
    assert rows and all(r["A"] == accounts[str((int(r["I"]) - 1) % len(accounts) + 1)] for r in rows)


# --- time zones ----------------------------------------------------------------------------------------------

def test_system_timestamps_in_utc_only_when_asked_and_custom_dates_always_in_instance_time(
        sandbox: SandboxHandle) -> None:
    # Reference > system-timestamps
    truth = {r[C_ID]: r for r in sandbox.dump("contacts")}
    fields = {"I": C_ID, "U": UPDATED, "H": HARD}
    for in_utc in (True, False):
        rows = export_rows(sandbox, "contacts", fields, areSystemTimestampsInUTC=in_utc)
        for r in rows:
            t = truth[r["I"]]
            assert r["U"] == (t[UPDATED] if in_utc else in_instance_time(sandbox, t[UPDATED]))
            assert r["H"] == in_instance_time(sandbox, t[HARD])
    assert any(t[HARD] for t in truth.values())


def test_filter_literals_are_read_in_the_fields_clock(sandbox: SandboxHandle) -> None:
    # Tutorials > Filtering: a custom date compared with a local time selects on what the export prints
    truth = [r for r in sandbox.dump("contacts") if r[HARD]]
    local = sorted(in_instance_time(sandbox, r[HARD]) for r in truth)
    pivot = local[len(local) // 2]
    rows = export_rows(sandbox, "contacts", {"I": C_ID, "H": HARD}, f"'{HARD}' >= '{pivot[:19]}'")
    assert sorted(r["H"] for r in rows) == [v for v in local if v[:19] >= pivot[:19]]


def test_a_utc_instance_prints_every_date_in_utc(sandbox_factory) -> None:
    # Reference > system-timestamps: an instance whose zone is UTC
    sb = sandbox_factory(contacts=60, timezone="UTC")
    truth = {r[C_ID]: r for r in sb.dump("contacts")}
    rows = export_rows(sb, "contacts", {"I": C_ID, "U": UPDATED, "H": HARD})
    assert rows and all(r["U"] == truth[r["I"]][UPDATED] and r["H"] == truth[r["I"]][HARD] for r in rows)
