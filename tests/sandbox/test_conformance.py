"""Conformance of the sandbox with Eloqua's documented behaviour, one table per endpoint and statement family.

Each case id names the Oracle documentation page it follows (Oracle Eloqua Developer Help Center, Bulk API).
Every case goes over a real socket to a sandbox in US Eastern time (the instance default).
"""

from __future__ import annotations

import pytest
import requests

from tests.fixtures.sandbox import SandboxHandle
from tests.sandbox.bulk import export_rows, get, in_instance_time, post, sync, wait

pytestmark = pytest.mark.integration

C_ID, UPDATED, HARD = "{{Contact.Id}}", "{{Contact.UpdatedAt}}", "{{Contact.Field(C_Hard_Bounced_At1)}}"
EMAIL = "{{Contact.Field(C_EmailAddress)}}"


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
    ("Reference > campaignresponses-fields-get: MemberStatus", "/campaignResponses/fields", {}, "MemberStatus",
     {"statement": "{{CampaignResponse.Field(MemberStatus)}}", "dataType": "string"}),
    ("Reference > campaignresponses-fields-get: IntegrationReturnValue", "/campaignResponses/fields", {},
     "IntegrationReturnValue", {"statement": "{{CampaignResponse.Field(IntegrationReturnValue)}}"}),
    ("Reference > events-id-fields-get: registrant email", "/events/1/fields", {}, "Email Address",
     {"statement": "{{Event[1].Field[3001]}}", "dataType": "emailAddress", "uri": "/events/1/fields/3001"}),
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
    ("Reference > contacts-scoring-models-get", "/contacts/scoring/models", 200, {"totalResults": 1}),
    ("Reference > contacts-scoring-models-id-get", "/contacts/scoring/models/1", 200,
     {"uri": "/contacts/scoring/models/1", "status": "Active"}),
    ("Reference > contacts-scoring-models-id-get: unknown id", "/contacts/scoring/models/9", 404, None),
    ("Reference > events-get", "/events", 200, {"totalResults": 2}),
    ("Reference > events-id-get", "/events/2", 200, {"uri": "/events/2", "name": "Webinar: Data Quality Basics"}),
    ("Reference > events-id-get: unknown id", "/events/9", 404, None),
]


@pytest.mark.parametrize(("page", "path", "status", "expected"), ENDPOINTS, ids=[c[0] for c in ENDPOINTS])
def test_endpoints(sandbox: SandboxHandle, page, path, status, expected) -> None:
    response = get(sandbox, path)
    assert response.status_code == status
    if expected:
        body = response.json()
        assert {k: body[k] for k in expected} == expected


def test_scoring_model_statements_export_the_contacts_scores(sandbox: SandboxHandle) -> None:
    # Reference > contacts-scoring-models-id-get: each model field's statement is exportable
    model = get(sandbox, "/contacts/scoring/models/1").json()
    statements = {f["name"]: f["statement"] for f in model["fields"]}
    assert set(statements) == {"Rating", "Profile Score", "Engagement Score"}
    got = export_rows(sandbox, "contacts", {"I": C_ID, "R": statements["Rating"], "P": statements["Profile Score"]})
    truth = {r[C_ID]: r for r in sandbox.dump("contacts")}
    assert got and all(
        r["R"] == truth[r["I"]]["{{Contact.Field(C_Lead_Rating1)}}"]
        and r["P"] == truth[r["I"]]["{{Contact.Field(C_Lead_Profile_Score1)}}"]
        for r in got
    )


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


# Definitions of the other entities, external activity imports and sync actions: (page, path, body, status).
_ADD_LIST = {"action": "add", "destination": "{{ContactList[2]}}"}
_EXTERNAL = {"E": "{{Activity.Contact.Field(C_EmailAddress)}}", "T": "{{Activity.Type}}",
             "AT": "{{Activity.Asset.Type}}", "AN": "{{Activity.Asset.Name}}", "D": "{{Activity.CreatedAt}}"}
BODIES = [
    ("Tutorials > campaign_response_dev: campaign response export", "/campaignResponses/exports",
     {"fields": {"Id": "{{CampaignResponse.Id}}", "S": "{{CampaignResponse.Field(MemberStatus)}}",
                 "R": "{{CampaignResponse.Field(IntegrationReturnValue)}}", "C": "{{CampaignResponse.Campaign.Id}}"}},
     201),
    ("Reference > campaignresponses-exports-post: unknown field", "/campaignResponses/exports",
     {"fields": {"X": "{{CampaignResponse.Field(NoSuchField)}}"}}, 400),
    ("Reference > events-id-exports-post: registrant and contact fields", "/events/1/exports",
     {"fields": {"E": "{{Event[1].Field[3001]}}", "C": "{{Event[1].Contact.Field(C_Country)}}"}}, 201),
    ("Reference > events-id-exports-post: unknown event", "/events/9/exports", {"fields": {"I": "{{Event[9].Id}}"}},
     404),
    ("Reference > sync-actions: events have no sync actions", "/events/1/exports",
     {"fields": {"I": "{{Event[1].Id}}"}, "syncActions": [_ADD_LIST]}, 400),
    ("Reference > contacts-exports-post: at most 10 syncActions", "/contacts/exports",
     {"fields": {"I": C_ID}, "syncActions": [_ADD_LIST] * 11}, 400),
    ("Reference > sync-actions: add to a contact list", "/contacts/exports",
     {"fields": {"I": C_ID}, "syncActions": [_ADD_LIST] * 10}, 201),
    ("Reference > sync-actions: an account list is not a contact destination", "/contacts/exports",
     {"fields": {"I": C_ID}, "syncActions": [{"action": "add", "destination": "{{AccountList[1]}}"}]}, 400),
    ("Reference > sync-actions: unknown contact list", "/contacts/imports",
     {"fields": {"E": EMAIL}, "identifierFieldName": "E",
      "syncActions": [{"action": "remove", "destination": "{{ContactList[999]}}"}]}, 400),
    ("Reference > sync-actions: email group takes setStatus", "/contacts/exports",
     {"fields": {"I": C_ID}, "syncActions": [{"action": "add", "destination": "{{EmailGroup[1]}}"}]}, 400),
    ("Reference > sync-actions: email group unsubscribe", "/contacts/exports",
     {"fields": {"I": C_ID}, "syncActions": [{"action": "setStatus", "destination": "{{EmailGroup[1]}}",
                                              "status": "unsubscribed"}]}, 201),
    ("Reference > sync-actions: email group status must be subscribed or unsubscribed", "/contacts/exports",
     {"fields": {"I": C_ID}, "syncActions": [{"action": "setStatus", "destination": "{{EmailGroup[1]}}",
                                              "status": "bounced"}]}, 400),
    ("Tutorials > sync_actions: contact sync action definition", "/contacts/syncActions",
     {"fields": {"E": EMAIL}, "identifierFieldName": "E", "syncActions": [_ADD_LIST]}, 201),
    ("Tutorials > sync_actions: identifier must be id, email or ContactIDExt", "/contacts/syncActions",
     {"fields": {"C": "{{Contact.Field(C_Country)}}"}, "identifierFieldName": "C", "syncActions": [_ADD_LIST]}, 400),
    ("Tutorials > sync_actions: a definition needs an action", "/contacts/syncActions",
     {"fields": {"E": EMAIL}, "identifierFieldName": "E", "syncActions": []}, 400),
    ("Reference > activities-imports-post: external activity", "/activities/imports", {"fields": _EXTERNAL}, 201),
    ("Reference > activities-imports-post: needs the asset type", "/activities/imports",
     {"fields": {k: v for k, v in _EXTERNAL.items() if k != "AT"}}, 400),
    ("Reference > activities-imports-post: only external activity statements", "/activities/imports",
     {"fields": {**_EXTERNAL, "S": "{{Activity.Field(SmtpErrorCode)}}"}}, 400),
]


@pytest.mark.parametrize(("page", "path", "body", "status"), BODIES, ids=[c[0] for c in BODIES])
def test_definition_bodies(sandbox: SandboxHandle, page, path, body, status) -> None:
    response = post(sandbox, path, {"name": page[:100], **body})
    assert response.status_code == status, response.text
    if status == 400:
        assert response.json()["failures"]


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


# --- campaign responses, events, external activities and sync actions over a whole flow ---------------------

def test_campaign_response_export_rows_are_the_responses(sandbox: SandboxHandle) -> None:
    # Tutorials > campaign_response_dev: a campaign response export, dates as system timestamps
    fields = {"Id": "{{CampaignResponse.Id}}", "At": "{{CampaignResponse.CreatedAt}}",
              "S": "{{CampaignResponse.Field(MemberStatus)}}", "C": "{{CampaignResponse.Campaign.Id}}",
              "K": "{{CampaignResponse.Contact.Id}}", "E": "{{CampaignResponse.Contact.Field(C_EmailAddress)}}"}
    got = {r["Id"]: r for r in export_rows(sandbox, "campaignResponses", fields, areSystemTimestampsInUTC=True)}
    truth = sandbox.dump("campaignResponses")
    contacts = {r[C_ID]: r[EMAIL] for r in sandbox.dump("contacts")}
    assert len(got) == len(truth) > 0
    for t in truth:
        r = got[t["{{CampaignResponse.Id}}"]]
        assert (r["At"], r["S"], r["C"], r["K"]) == (
            t["{{CampaignResponse.CreatedAt}}"], t["{{CampaignResponse.Field(MemberStatus)}}"],
            t["{{CampaignResponse.Campaign.Id}}"], t["{{CampaignResponse.Contact.Id}}"])
        assert r["E"] == contacts[r["K"]]


def test_event_export_rows_are_the_registrants(sandbox: SandboxHandle) -> None:
    # Reference > events-id-exports-post: registrants with their custom dates in instance time
    fields = {"I": "{{Event[1].Id}}", "E": "{{Event[1].Field[3001]}}", "R": "{{Event[1].Field[3006]}}",
              "K": "{{Event[1].Contact.Id}}"}
    got = {r["I"]: r for r in export_rows(sandbox, "events/1", fields, "'{{Event[1].Field[3007]}}' = 'true'")}
    truth = [t for t in sandbox.dump("events/1") if t["{{Event[1].Field[3007]}}"] == "true"]
    assert len(got) == len(truth) > 0
    for t in truth:
        r = got[t["{{Event[1].Id}}"]]
        assert r["E"] == t["{{Event[1].Field[3001]}}"] and r["K"] == t["{{Event[1].Contact.Id}}"]
        assert r["R"] == in_instance_time(sandbox, t["{{Event[1].Field[3006]}}"])


def _import(sb: SandboxHandle, path: str, body: dict, data: list[dict]) -> tuple[str, dict]:
    response = post(sb, path, {"name": "conformance", "isSyncTriggeredOnImport": False, **body})
    assert response.status_code == 201, response.text
    uri = response.json()["uri"]
    assert post(sb, f"{uri}/data", data).status_code == 204
    sync_uri = sync(sb, uri)
    return sync_uri, wait(sb, sync_uri)


def test_external_activities_are_created_and_exported(sandbox_factory) -> None:
    # Reference > activities-imports-post, Reference > eloqua-status-codes (ELQ-00069, ELQ-00072, ELQ-00085)
    sb = sandbox_factory(contacts=40)
    email = sb.dump("contacts")[4][EMAIL]
    good = {"E": email.upper(), "T": "Visited Booth", "AT": "Tradeshow", "AN": "Booth 12", "D": "2026-11-20 09:30:00"}
    data = [good, {**good, "AT": "Billboard"}, {**good, "E": "nobody@nowhere.example"}]
    sync_uri, status = _import(sb, "/activities/imports", {"fields": _EXTERNAL}, data)
    assert status["status"] == "warning"
    logs = {i["statusCode"]: i["count"] for i in get(sb, f"{sync_uri}/logs").json()["items"]}
    assert logs["ELQ-00069"] == 1
    rejects = get(sb, f"{sync_uri}/rejects").json()["items"]
    assert [(r["recordIndex"], r["statusCode"]) for r in rejects] == [(2, "ELQ-00072"), (3, "ELQ-00085")]
    got = export_rows(sb, "activities", {"T": "{{Activity.Type}}", "K": "{{Activity.Contact.Id}}",
                                         "A": "{{Activity.Asset.Name}}", "D": "{{Activity.CreatedAt}}"},
                      "'{{Activity.Type}}' = 'Visited Booth'")
    # the date was read in instance time and prints back the same without areSystemTimestampsInUTC
    assert got == [{"T": "Visited Booth", "K": "5", "A": "Booth 12", "D": "2026-11-20 09:30:00.000"}]


def _members(sb: SandboxHandle, list_statement: str) -> set[str]:
    return {r["I"] for r in export_rows(sb, "contacts", {"I": C_ID}, f"EXISTS('{list_statement}')")}


def test_export_sync_actions_change_the_list_a_later_export_sees(sandbox_factory) -> None:
    # Reference > sync-actions: an export's add/remove runs on the exported contacts when it syncs
    sb = sandbox_factory(contacts=40)
    before = _members(sb, "{{ContactList[2]}}")
    exported = {r["I"] for r in export_rows(sb, "contacts", {"I": C_ID}, f"'{C_ID}' <= '6'",
                                            syncActions=[_ADD_LIST])}
    assert exported == {str(i) for i in range(1, 7)}
    assert _members(sb, "{{ContactList[2]}}") == before | exported != before
    export_rows(sb, "contacts", {"I": C_ID}, f"'{C_ID}' <= '3'",
                syncActions=[{"action": "remove", "destination": "{{ContactList[2]}}"}])
    assert _members(sb, "{{ContactList[2]}}") == (before | exported) - {"1", "2", "3"}


def test_import_and_sync_action_definitions_act_on_matched_contacts(sandbox_factory) -> None:
    # Tutorials > sync_actions (contact sync action definition), Reference > sync-actions on an import
    sb = sandbox_factory(contacts=40)
    emails = {r[C_ID]: r[EMAIL] for r in sb.dump("contacts")}
    in_list_1 = sorted(_members(sb, "{{ContactList[1]}}"), key=int)[:2]
    _sync, status = _import(sb, "/contacts/imports",
                            {"fields": {"E": EMAIL, "T": "{{Contact.Field(C_Title)}}"}, "identifierFieldName": "E",
                             "syncActions": [{"action": "remove", "destination": "{{ContactList[1]}}"}]},
                            [{"E": emails[i], "T": "CTO"} for i in in_list_1])
    assert status["status"] == "success"
    assert not set(in_list_1) & _members(sb, "{{ContactList[1]}}")
    outside = sorted(set(emails) - _members(sb, "{{ContactList[2]}}"), key=int)[:3]
    sync_uri, status = _import(sb, "/contacts/syncActions",
                               {"fields": {"E": EMAIL}, "identifierFieldName": "E", "syncActions": [_ADD_LIST]},
                               [{"E": emails[i]} for i in outside] + [{"E": "nobody@nowhere.example"}])
    assert status["status"] == "warning"
    assert [r["statusCode"] for r in get(sb, f"{sync_uri}/rejects").json()["items"]] == ["ELQ-00034"]
    assert set(outside) <= _members(sb, "{{ContactList[2]}}")


def test_email_group_and_global_unsubscribe_sync_actions(sandbox_factory) -> None:
    # Reference > sync-actions: setStatus on {{EmailGroup[id]}} and {{GlobalSubscribe}}
    sb = sandbox_factory(contacts=40)

    def subscribers() -> set[int]:
        return set(requests.get(f"{sb.url}/sandbox/dump/emailGroups/1", timeout=30).json()["subscribed"])

    before = subscribers()
    assert {1, 3} <= before
    actions = [{"action": "setStatus", "destination": "{{EmailGroup[1]}}", "status": "unsubscribed"},
               {"action": "setStatus", "destination": "{{GlobalSubscribe}}", "status": "unsubscribed"}]
    export_rows(sb, "contacts", {"I": C_ID}, f"'{C_ID}' <= '3'", syncActions=actions)
    assert subscribers() == before - {1, 3}
    flags = {r["I"]: r["S"] for r in export_rows(sb, "contacts", {"I": C_ID, "S": "{{Contact.Email.IsSubscribed}}"})}
    assert [flags[i] for i in ("1", "2", "3")] == ["false"] * 3


def test_sync_data_of_a_sync_action_sync_is_refused(sandbox_factory) -> None:
    # Reference > syncs-id-data-get: data only for export syncs
    sb = sandbox_factory(contacts=20)
    sync_uri, _status = _import(sb, "/contacts/syncActions",
                                {"fields": {"I": C_ID}, "identifierFieldName": "I", "syncActions": [_ADD_LIST]},
                                [{"I": "1"}])
    assert get(sb, f"{sync_uri}/data").status_code == 400


# --- a client that builds its export from the field list (as tap-eloqua and pyeloqua do) --------------------

def _listed(sb: SandboxHandle, path: str, **params: object) -> list[dict]:
    """Every item of a paged field list, as a client reads it (offset/limit until hasMore is false)."""
    items: list[dict] = []
    while True:
        page = get(sb, path, offset=len(items), limit=1000, **params).json()
        items += page.get("items", [])
        if not page["hasMore"]:
            return items


def test_a_contact_export_of_every_listed_field_returns_every_contact_with_the_stored_values(
        sandbox: SandboxHandle) -> None:
    # Tutorials > FieldsMetadata, then Tutorials > Export: at most 250 fields a definition
    fields = _listed(sandbox, "/contacts/fields")
    assert len(fields) > 23  # Eloqua's standard contact fields, not only the project's
    truth = {r[C_ID]: r for r in sandbox.dump("contacts")}
    for start in range(0, len(fields), 249):
        chunk = {f"F{i}": f["statement"] for i, f in enumerate(fields[start:start + 249], start)}
        rows = export_rows(sandbox, "contacts", {"Id": C_ID, **chunk}, areSystemTimestampsInUTC=True)
        assert sorted(r["Id"] for r in rows) == sorted(truth)
        dates = {f["statement"] for f in fields if f["dataType"] == "date"}
        for row in rows:
            stored = truth[row["Id"]]
            for key, statement in chunk.items():
                if statement not in stored or statement in dates:
                    continue  # a field the dump does not keep, or a date (clocks are checked above)
                assert row[key] == (stored[statement] or ""), (statement, row["Id"])


@pytest.mark.parametrize("activity_type", ["EmailSend", "EmailOpen", "EmailClickthrough", "FormSubmit", "WebVisit",
                                           "Bounceback"])
def test_an_activity_export_of_every_listed_field_of_a_type_returns_every_activity(
        sandbox: SandboxHandle, activity_type: str) -> None:
    # Reference > activity-fields: the fields of one type (activityType), exported with the type pinned
    fields = _listed(sandbox, "/activities/fields", activityType=activity_type)
    assert {"ActivityId", "ActivityType", "ActivityDate", "ContactId"} <= {f["name"] for f in fields}
    day = "2026-11-26"
    truth = sandbox.dump(f"activities?type={activity_type}&day={day}")
    statements = {f["name"]: f["statement"] for f in fields}
    rows = export_rows(
        sandbox, "activities", statements,
        f"'{{{{Activity.Type}}}}' = '{activity_type}' AND '{{{{Activity.CreatedAt}}}}' >= '{day} 00:00:00'"
        f" AND '{{{{Activity.CreatedAt}}}}' < '2026-11-27 00:00:00'",
        areSystemTimestampsInUTC=True)
    assert sorted(r["ActivityId"] for r in rows) == sorted(str(t["{{Activity.Id}}"]) for t in truth)
    assert truth and all(r["ActivityType"] == activity_type for r in rows)
