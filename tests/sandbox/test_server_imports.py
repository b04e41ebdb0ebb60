"""Imports over real HTTP: definitions, data posts, limits, update rules, rejects and applied rows."""

from __future__ import annotations

import pytest
import requests

from tests.fixtures.sandbox import SandboxHandle
from tests.sandbox.bulk import create_import, export_rows, get, post, run_import, sync, wait

pytestmark = pytest.mark.integration

EMAIL = "{{Contact.Field(C_EmailAddress)}}"
TITLE = "{{Contact.Field(C_Title)}}"
CITY = "{{Contact.Field(C_City)}}"
SCORE = "{{Contact.Field(C_Lead_Profile_Score1)}}"
BOUNCED_AT = "{{Contact.Field(C_Hard_Bounced_At1)}}"
FIELDS = {"Email": EMAIL, "Title": TITLE, "City": CITY}


@pytest.fixture
def sb(sandbox_factory) -> SandboxHandle:
    return sandbox_factory(contacts=200, seed=3)


def contacts_by_email(sb: SandboxHandle) -> dict[str, dict[str, str]]:
    return {r[EMAIL]: r for r in sb.dump("contacts") if r[EMAIL].strip()}


def clean_contacts(sb: SandboxHandle, n: int) -> list[dict[str, str]]:
    """Contacts whose raw email is a unique, clean address (safe identifiers)."""
    rows = contacts_by_email(sb)
    lowered = [e.strip().lower() for e in rows]
    return [r for e, r in rows.items() if e == e.strip().lower() and "@" in e and lowered.count(e) == 1][:n]


def test_import_updates_matching_contacts_and_bumps_updated_at(sb: SandboxHandle) -> None:
    targets = clean_contacts(sb, 3)
    data = [{"Email": t[EMAIL], "Title": f"New Title {i}", "City": "Raleigh"} for i, t in enumerate(targets)]
    sync_uri, done = run_import(sb, "contacts", FIELDS, "Email", data)
    assert done["status"] == "success"
    after = contacts_by_email(sb)
    for i, t in enumerate(targets):
        row = after[t[EMAIL]]
        assert row[TITLE] == f"New Title {i}" and row[CITY] == "Raleigh"
        assert row["{{Contact.UpdatedAt}}"] > t["{{Contact.UpdatedAt}}"]
        assert row["{{Contact.UpdatedAt}}"][:10] == str(sb.as_of)
    logs = {e["statusCode"]: e for e in get(sb, f"{sync_uri}/logs").json()["items"]}
    assert logs["ELQ-00130"]["count"] == 3 and logs["ELQ-00001"]["count"] == 3
    assert logs["ELQ-00022"]["count"] == 3 and logs["ELQ-00004"]["count"] == 0
    assert (
        logs["ELQ-00101"]["message"] == f"Sync processed for sync {sync_uri.split('/')[-1]}, resulting in "
        "Success status."
    )
    state = sb.state()
    assert state["imports"][-1]["rows_applied"] == 3 and state["imports"][-1]["sync"] == sync_uri


def test_email_identifier_matches_case_and_padding_insensitively(sb: SandboxHandle) -> None:
    target = clean_contacts(sb, 1)[0]
    _s, done = run_import(
        sb, "contacts", FIELDS, "Email", [{"Email": f"  {target[EMAIL].upper()} ", "Title": "Matched"}]
    )
    assert done["status"] == "success"
    row = contacts_by_email(sb)[target[EMAIL]]
    assert row[TITLE] == "Matched" and row[EMAIL] == target[EMAIL]  # identifier not rewritten


def test_unknown_email_creates_a_contact(sb: SandboxHandle) -> None:
    before = len(sb.dump("contacts"))
    sync_uri, done = run_import(
        sb, "contacts", FIELDS, "Email", [{"Email": "brand.new@example.com", "Title": "X"}]
    )
    assert done["status"] == "success"
    after = contacts_by_email(sb)
    assert len(sb.dump("contacts")) == before + 1
    created = after["brand.new@example.com"]
    assert created["{{Contact.Id}}"] == str(before + 1)
    assert created["{{Contact.CreatedAt}}"] == created["{{Contact.UpdatedAt}}"]
    logs = {e["statusCode"]: e["count"] for e in get(sb, f"{sync_uri}/logs").json()["items"]}
    assert logs["ELQ-00004"] == 1


@pytest.mark.parametrize(
    ("rule", "posted", "existing", "expected"),
    [
        ("always", "", "Old", ""),  # always: a blank overwrites
        ("always", "New", "Old", "New"),
        ("ifNewIsNotNull", "", "Old", "Old"),  # a blank is ignored
        ("ifNewIsNotNull", "New", "Old", "New"),
        ("ifExistingIsNull", "New", "Old", "Old"),  # existing value kept
        ("ifExistingIsNull", "New", "", "New"),  # empty existing value filled
    ],
)
def test_update_rules(sb: SandboxHandle, rule: str, posted: str, existing: str, expected: str) -> None:
    target = clean_contacts(sb, 1)[0]
    _s, first = run_import(sb, "contacts", FIELDS, "Email", [{"Email": target[EMAIL], "City": existing}])
    assert first["status"] == "success"
    _s, done = run_import(
        sb, "contacts", FIELDS, "Email", [{"Email": target[EMAIL], "City": posted}], updateRule=rule
    )
    assert done["status"] == "success"
    assert contacts_by_email(sb)[target[EMAIL]][CITY] == expected


def test_update_rule_by_field(sb: SandboxHandle) -> None:
    target = clean_contacts(sb, 1)[0]
    run_import(sb, "contacts", FIELDS, "Email", [{"Email": target[EMAIL], "City": "Old", "Title": "Old"}])
    _s, done = run_import(
        sb,
        "contacts",
        FIELDS,
        "Email",
        [{"Email": target[EMAIL], "City": "", "Title": ""}],
        updateRule="useFieldRule",
        updateRuleByField={"City": "ifNewIsNotNull"},
    )
    assert done["status"] == "success"
    row = contacts_by_email(sb)[target[EMAIL]]
    assert (row[CITY], row[TITLE]) == ("Old", "")


def test_invalid_rows_are_rejected_with_messages_and_codes(sb: SandboxHandle) -> None:
    good = clean_contacts(sb, 1)[0]
    all_emails = [r[EMAIL] for r in sb.dump("contacts") if r[EMAIL].strip()]
    dup = next(e for e in all_emails if [x.strip().lower() for x in all_emails].count(e.strip().lower()) > 1)
    fields = {**FIELDS, "Score": SCORE}
    data = [
        {"Email": good[EMAIL], "Title": "Fine", "Score": "40"},
        {"Email": "not an email", "Title": "x"},
        {"Email": good[EMAIL], "Score": "forty"},
        {"Email": dup, "Title": "ambiguous"},
        {"Email": "", "Title": "no identifier"},
    ]
    sync_uri, done = run_import(sb, "contacts", fields, "Email", data)
    assert done["status"] == "warning"
    rejects = get(sb, f"{sync_uri}/rejects").json()
    assert rejects["totalResults"] == 4
    by_index = {r["recordIndex"]: r for r in rejects["items"]}
    assert (by_index[2]["statusCode"], by_index[2]["message"]) == ("ELQ-00002", "Invalid email address.")
    assert by_index[2]["invalidFields"] == ["C_EmailAddress"]
    assert by_index[2]["fieldValues"] == {"Email": "not an email", "Title": "x"}
    assert by_index[3]["statusCode"] == "ELQ-00032" and by_index[3]["invalidFields"] == [
        "C_Lead_Profile_Score1"
    ]
    assert (by_index[4]["statusCode"], by_index[4]["message"]) == ("ELQ-00026", "Multiple matches.")
    assert by_index[5]["statusCode"] == "ELQ-00061"
    assert contacts_by_email(sb)[good[EMAIL]][SCORE] == "40"
    logs = {e["statusCode"]: e for e in get(sb, f"{sync_uri}/logs").json()["items"]}
    assert logs["ELQ-00060"]["count"] == 4 and logs["ELQ-00060"]["severity"] == "warning"
    assert logs["ELQ-00002"]["count"] == 1
    assert logs["ELQ-00101"]["message"].endswith("resulting in Warning status.")
    page = get(sb, f"{sync_uri}/rejects", limit=1, offset=1).json()
    assert page["count"] == 1 and page["hasMore"] is True and page["items"][0]["recordIndex"] == 3


def test_update_multiple_matched_records(sb: SandboxHandle) -> None:
    emails = [r[EMAIL] for r in sb.dump("contacts") if r[EMAIL].strip()]
    dup = next(e for e in emails if [x.strip().lower() for x in emails].count(e.strip().lower()) > 1)
    _s, done = run_import(
        sb,
        "contacts",
        FIELDS,
        "Email",
        [{"Email": dup, "Title": "Both"}],
        isUpdatingMultipleMatchedRecords=True,
    )
    assert done["status"] == "success"
    matched = [r for r in sb.dump("contacts") if r[EMAIL].strip().lower() == dup.strip().lower()]
    assert len(matched) >= 2 and {r[TITLE] for r in matched} == {"Both"}


def test_csv_post(sb: SandboxHandle) -> None:
    target = clean_contacts(sb, 1)[0]
    uri = create_import(sb, "contacts", FIELDS, "Email")
    body = f'Email,Title\r\n{target[EMAIL]},"CSV, Title"\r\n'.encode()
    response = requests.post(
        f"{sb.bulk_url}{uri}/data", data=body, auth=sb.auth, timeout=10, headers={"Content-Type": "text/csv"}
    )
    assert response.status_code == 204
    assert wait(sb, sync(sb, uri))["status"] == "success"
    assert contacts_by_email(sb)[target[EMAIL]][TITLE] == "CSV, Title"


def test_post_over_32_mb_is_404(sb: SandboxHandle) -> None:
    uri = create_import(sb, "contacts", FIELDS, "Email")
    row = '{"Email": "a@b.co", "Title": "' + "x" * 1000 + '"},'
    body = ("[" + row * (32 * 1024 + 10))[:-1] + "]"
    assert len(body) > 32 * 1024 * 1024
    response = requests.post(
        f"{sb.bulk_url}{uri}/data",
        data=body.encode(),
        auth=sb.auth,
        timeout=60,
        headers={"Content-Type": "application/json"},
    )
    assert response.status_code == 404


def test_the_501st_post_in_one_sync_is_400(sb: SandboxHandle) -> None:
    target = clean_contacts(sb, 1)[0]
    uri = create_import(sb, "contacts", FIELDS, "Email")
    session = requests.Session()
    session.auth = sb.auth
    for _ in range(500):
        assert (
            session.post(f"{sb.bulk_url}{uri}/data", json=[{"Email": target[EMAIL]}], timeout=10).status_code
            == 204
        )
    refused = session.post(f"{sb.bulk_url}{uri}/data", json=[{"Email": target[EMAIL]}], timeout=10)
    assert refused.status_code == 400 and "500" in refused.json()["failures"][0]["constraint"]
    assert wait(sb, sync(sb, uri))["status"] == "success"
    assert (
        session.post(f"{sb.bulk_url}{uri}/data", json=[{"Email": target[EMAIL]}], timeout=10).status_code
        == 204
    )


def test_delete_staged_data_is_409_while_a_sync_runs(sb: SandboxHandle) -> None:
    target = clean_contacts(sb, 1)[0]
    sb.set_faults({"faults": [{"kind": "stuck_pending", "match": "/contacts/imports/*"}]})
    uri = create_import(sb, "contacts", FIELDS, "Email")
    assert post(sb, f"{uri}/data", [{"Email": target[EMAIL], "Title": "Later"}]).status_code == 204
    sync_uri = sync(sb, uri)
    assert requests.delete(f"{sb.bulk_url}{uri}/data", auth=sb.auth, timeout=10).status_code == 409
    assert requests.delete(f"{sb.bulk_url}{sync_uri}/data", auth=sb.auth, timeout=10).status_code == 409
    sb.clear_faults()
    assert wait(sb, sync_uri)["status"] == "success"
    assert requests.delete(f"{sb.bulk_url}{uri}/data", auth=sb.auth, timeout=10).status_code == 204


def test_delete_staged_data_before_sync_discards_it(sb: SandboxHandle) -> None:
    target = clean_contacts(sb, 1)[0]
    uri = create_import(sb, "contacts", FIELDS, "Email")
    post(sb, f"{uri}/data", [{"Email": target[EMAIL], "Title": "Discarded"}])
    assert requests.delete(f"{sb.bulk_url}{uri}/data", auth=sb.auth, timeout=10).status_code == 204
    sync_uri = sync(sb, uri)
    assert wait(sb, sync_uri)["status"] == "success"
    assert contacts_by_email(sb)[target[EMAIL]][TITLE] != "Discarded"


def test_sync_triggered_on_import_returns_201_with_a_sync(sb: SandboxHandle) -> None:
    target = clean_contacts(sb, 1)[0]
    uri = create_import(sb, "contacts", FIELDS, "Email", isSyncTriggeredOnImport=True)
    response = post(sb, f"{uri}/data", [{"Email": target[EMAIL], "Title": "Triggered"}])
    assert response.status_code == 201 and response.json()["status"] == "pending"
    assert wait(sb, response.json()["uri"])["status"] == "success"
    assert contacts_by_email(sb)[target[EMAIL]][TITLE] == "Triggered"


def test_data_of_an_import_sync_is_400(sb: SandboxHandle) -> None:
    sync_uri, _done = run_import(sb, "contacts", FIELDS, "Email", [])
    assert get(sb, f"{sync_uri}/data").status_code == 400


def test_custom_object_import_upserts_on_the_unique_field(sb: SandboxHandle) -> None:
    fields = get(sb, "/customObjects/41/fields").json()["items"]
    st = {f["name"]: f["statement"] for f in fields}
    stored = sb.dump("customObjects/41")
    first = stored[0][st["ResponseId"]]
    data = [
        {"ResponseId": first, "StatusNormalized": "Responded", "CampaignName": "FY27 Webinar"},
        {"ResponseId": "R-NEW-1", "ResponseStatus": "Attended"},
    ]
    cdo_fields = {n: st[n] for n in ("ResponseId", "StatusNormalized", "CampaignName", "ResponseStatus")}
    sync_uri, done = run_import(sb, "customObjects/41", cdo_fields, "ResponseId", data)
    assert done["status"] == "success"
    after = {r[st["ResponseId"]]: r for r in sb.dump("customObjects/41")}
    assert after[first][st["StatusNormalized"]] == "Responded"
    assert after[first][st["ResponseStatus"]] == stored[0][st["ResponseStatus"]]  # untouched field kept
    assert after["R-NEW-1"][st["ResponseStatus"]] == "Attended"
    logs = {e["statusCode"]: e["count"] for e in get(sb, f"{sync_uri}/logs").json()["items"]}
    assert (logs["ELQ-00007"], logs["ELQ-00012"]) == (1, 1)


def test_import_definition_validation_over_http(sb: SandboxHandle) -> None:
    response = post(sb, "/contacts/imports", {"name": "i", "fields": FIELDS, "identifierFieldName": "Nope"})
    assert response.status_code == 400
    assert response.json()["failures"][0]["field"] == "identifierFieldName"
    # external activity imports exist and are validated like every definition
    assert post(sb, "/activities/imports", {"name": "i", "fields": {}}).json()["failures"][0]["field"] == "fields"


def test_custom_dates_are_imported_on_the_instance_clock(sb: SandboxHandle) -> None:
    target, other = clean_contacts(sb, 2)
    fields = {"Email": EMAIL, "Bounced": BOUNCED_AT}
    data = [{"Email": target[EMAIL], "Bounced": "2026-11-02 11:00:00"},  # EST, UTC-5
            {"Email": other[EMAIL], "Bounced": "2026-10-31T12:00:00Z"}]  # an explicit offset wins
    _s, done = run_import(sb, "contacts", fields, "Email", data)
    assert done["status"] == "success"
    held = contacts_by_email(sb)  # the dump holds the UTC truth
    assert (held[target[EMAIL]][BOUNCED_AT], held[other[EMAIL]][BOUNCED_AT]) == (
        "2026-11-02 16:00:00.000", "2026-10-31 12:00:00.000")
    exported = {r["Email"]: r["Bounced"] for r in export_rows(sb, "contacts", fields)}
    assert (exported[target[EMAIL]], exported[other[EMAIL]]) == ("2026-11-02 11:00:00.000", "2026-10-31 08:00:00.000")


def test_state_shows_staged_data_until_a_sync_or_a_delete_takes_it(sb: SandboxHandle) -> None:
    target = clean_contacts(sb, 1)[0]
    uri = create_import(sb, "contacts", FIELDS, "Email")
    other = create_import(sb, "contacts", FIELDS, "Email")
    assert sb.state()["staged_imports"] == {}
    for title in ("a", "b"):
        post(sb, f"{uri}/data", [{"Email": target[EMAIL], "Title": title}, {"Email": target[EMAIL]}])
    post(sb, f"{other}/data", [{"Email": target[EMAIL], "Title": "c"}])
    assert sb.state()["staged_imports"] == {uri: {"posts": 2, "rows": 4}, other: {"posts": 1, "rows": 1}}
    assert requests.delete(f"{sb.bulk_url}{other}/data", auth=sb.auth, timeout=10).status_code == 204
    assert wait(sb, sync(sb, uri))["status"] == "success"
    assert sb.state()["staged_imports"] == {}


def test_a_dropped_answer_to_a_data_post_still_stages_the_rows(sb: SandboxHandle) -> None:
    target = clean_contacts(sb, 1)[0]
    uri = create_import(sb, "contacts", FIELDS, "Email")
    sb.set_faults({"faults": [{"kind": "drop", "route": "POST /contacts/imports/*/data"}]})
    with pytest.raises(requests.ConnectionError):
        post(sb, f"{uri}/data", [{"Email": target[EMAIL], "Title": "Lost answer"}])
    assert sb.state()["staged_imports"] == {uri: {"posts": 1, "rows": 1}}
    assert wait(sb, sync(sb, uri))["status"] == "success"
    assert contacts_by_email(sb)[target[EMAIL]][TITLE] == "Lost answer"


def test_an_unknown_field_is_refused_with_the_failures_shape(sb: SandboxHandle) -> None:
    fields = {**FIELDS, "Nope": "{{Contact.Field(C_No_Such_Field)}}"}
    response = post(sb, "/contacts/imports", {"name": "i", "fields": fields, "identifierFieldName": "Email"})
    assert response.status_code == 400
    assert response.json()["failures"] == [{
        "field": "fields.Nope", "value": "{{Contact.Field(C_No_Such_Field)}}",
        "constraint": "Must reference an existing contact field (see /contacts/fields)."}]
