"""Exports over real HTTP: definitions, syncs, /data paging and shapes against the Bulk API reference."""

from __future__ import annotations

import json
import re
from datetime import date, timedelta

import pytest
import requests

from contract.objects import ACTIVITIES, BOUNCEBACK_ONLY_COLUMNS, CONTACTS
from tests.fixtures.sandbox import SandboxHandle
from tests.sandbox.bulk import as_exported, create_export, export_rows, get, post, rows, sync, wait

pytestmark = pytest.mark.integration

TS_7 = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{7}Z$")
CONTACT_FIELDS = {c.name: c.statement for c in CONTACTS.columns}
EMAIL = "{{Contact.Field(C_EmailAddress)}}"


def test_discovery_points_back_at_the_sandbox(sandbox: SandboxHandle) -> None:
    body = requests.get(f"{sandbox.url}/id", auth=sandbox.auth, timeout=10).json()
    assert body["site"]["name"] == sandbox.site
    assert body["user"]["username"] == sandbox.user
    assert body["urls"]["base"] == sandbox.url
    assert body["urls"]["apis"]["rest"]["bulk"] == f"{sandbox.url}/api/bulk/{{version}}/"


def test_create_export_returns_201_with_uri_and_seven_digit_timestamps(sandbox: SandboxHandle) -> None:
    response = post(sandbox, "/contacts/exports", {"name": "shape", "fields": {"Email": EMAIL}})
    assert response.status_code == 201
    body = response.json()
    assert re.fullmatch(r"/contacts/exports/\d+", body["uri"])
    assert TS_7.match(body["createdAt"]) and TS_7.match(body["updatedAt"])
    assert body["createdBy"] == sandbox.user and body["dataRetentionDuration"] == "PT12H"
    assert get(sandbox, body["uri"]).json() == body
    assert (
        requests.delete(f"{sandbox.bulk_url}{body['uri']}", auth=sandbox.auth, timeout=10).status_code == 204
    )
    assert get(sandbox, body["uri"]).status_code == 404


def test_paths_are_case_insensitive_and_double_slashes_are_tolerated(sandbox: SandboxHandle) -> None:
    response = requests.post(
        f"{sandbox.url}/API/BULK/2.0//contacts/EXPORTS",
        auth=sandbox.auth,
        timeout=10,
        json={"name": "case", "fields": {"Email": EMAIL}},
    )
    assert response.status_code == 201
    assert (
        requests.get(
            f"{sandbox.url}/api/Bulk/2.0/{response.json()['uri']}", auth=sandbox.auth, timeout=10
        ).status_code
        == 200
    )


def test_post_without_content_type_is_refused(sandbox: SandboxHandle) -> None:
    response = requests.post(
        f"{sandbox.bulk_url}/contacts/exports",
        auth=sandbox.auth,
        timeout=10,
        data=b'{"name": "x", "fields": {"E": "{{Contact.Id}}"}}',
    )
    assert response.status_code == 400
    assert response.json()["failures"][0]["field"] == "Content-Type"


def test_validation_failures_use_the_bulk_failures_shape(sandbox: SandboxHandle) -> None:
    response = post(
        sandbox,
        "/contacts/exports",
        {
            "name": "bad",
            "fields": {"E": "{{Contact.Field(C_Nope)}}"},
            "filter": "x" * 1001,
            "dataRetentionDuration": "P30D",
        },
    )
    assert response.status_code == 400
    failures = response.json()["failures"]
    assert {f["field"] for f in failures} == {"fields.E", "filter", "dataRetentionDuration"}
    assert all(set(f) <= {"field", "value", "constraint"} for f in failures)


def test_activity_filter_with_contact_field_is_refused(sandbox: SandboxHandle) -> None:
    response = post(
        sandbox,
        "/activities/exports",
        {
            "name": "a",
            "fields": {"Id": "{{Activity.Id}}"},
            "filter": "'{{Activity.Type}}' = 'EmailOpen' AND '{{Contact.Field(C_Country)}}' = 'US'",
        },
    )
    assert response.status_code == 400
    assert response.json()["failures"][0]["field"] == "filter"


def test_sync_goes_pending_active_success_with_start_and_end_times(sandbox: SandboxHandle) -> None:
    uri = create_export(sandbox, "contacts", {"Email": EMAIL})
    sync_uri = sync(sandbox, uri)
    done = wait(sandbox, sync_uri)
    assert done["status"] == "success"
    assert done["syncedInstanceUri"] == uri
    assert TS_7.match(done["syncStartedAt"]) and TS_7.match(done["syncEndedAt"])
    assert done["createdAt"] <= done["syncStartedAt"] <= done["syncEndedAt"]
    logs = get(sandbox, f"{sync_uri}/logs").json()["items"]
    assert [entry["statusCode"] for entry in logs] == ["ELQ-00102", "ELQ-00131", "ELQ-00101"]
    assert logs[0]["message"] == "Successfully exported members to csv file."
    assert logs[0]["count"] == len(sandbox.dump("contacts"))


def test_sync_of_unknown_definition_is_a_validation_error(sandbox: SandboxHandle) -> None:
    response = post(sandbox, "/syncs", {"syncedInstanceUri": "/contacts/exports/999999"})
    assert response.status_code == 400
    assert response.json()["failures"][0]["field"] == "syncedInstanceUri"


def test_full_contacts_export_equals_the_store(sandbox: SandboxHandle) -> None:
    # Without areSystemTimestampsInUTC every date, system or custom, comes in the instance's time zone.
    exported = export_rows(sandbox, "contacts", CONTACT_FIELDS)
    dates = {"HardBouncedAt", "CreatedAt", "UpdatedAt"}
    stored = [
        as_exported(sandbox, {name: row[st] for name, st in CONTACT_FIELDS.items()}, dates)
        for row in sandbox.dump("contacts")
    ]
    assert sorted(exported, key=lambda r: int(r["ContactId"])) == sorted(
        stored, key=lambda r: int(r["ContactId"])
    )
    sample = next(r for r in exported if r["HardBouncedAt"])
    assert re.fullmatch(r"\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}\.\d{3}", sample["HardBouncedAt"])
    assert {r["IsBounced"] for r in exported} == {"true", "false"}
    assert any(r["EmailAddress"] == "" for r in exported)


def test_incremental_filter_selects_exactly_the_window(sandbox: SandboxHandle) -> None:
    day = sandbox.as_of - timedelta(days=1)
    window = (
        f"'{{{{Contact.UpdatedAt}}}}' >= '{day} 00:00:00' AND "
        f"'{{{{Contact.UpdatedAt}}}}' < '{sandbox.as_of} 00:00:00'"
    )
    exported = export_rows(
        sandbox, "contacts", {"Id": "{{Contact.Id}}", "U": "{{Contact.UpdatedAt}}"}, window
    )
    expected = sorted(
        r["{{Contact.Id}}"]
        for r in sandbox.dump("contacts")
        if r["{{Contact.UpdatedAt}}"].startswith(str(day))
    )
    assert expected and sorted(r["Id"] for r in exported) == expected


def test_exists_filter_uses_the_contact_list(sandbox: SandboxHandle) -> None:
    lists = get(sandbox, "/contacts/lists").json()["items"]
    assert lists[0]["statement"] == "{{ContactList[1]}}"
    exported = export_rows(sandbox, "contacts", {"Id": "{{Contact.Id}}"}, "EXISTS('{{ContactList[1]}}')")
    assert exported and all(int(r["Id"]) % 3 == 0 for r in exported)


def test_activity_export_for_one_day_equals_the_store(sandbox: SandboxHandle) -> None:
    day = sandbox.as_of - timedelta(days=2)
    fields = {c.name: c.statement for c in ACTIVITIES.columns}
    flt = (
        f"'{{{{Activity.Type}}}}' = 'Bounceback' AND '{{{{Activity.CreatedAt}}}}' >= '{day} 00:00:00' "
        f"AND '{{{{Activity.CreatedAt}}}}' < '{day + timedelta(days=1)} 00:00:00'"
    )
    exported = export_rows(sandbox, "activities", fields, flt, areSystemTimestampsInUTC=True)
    stored = sandbox.dump(f"activities?type=Bounceback&day={day}")
    expected = [{name: row[st] for name, st in fields.items()} for row in stored]
    assert sorted(exported, key=lambda r: int(r["ActivityId"])) == expected
    assert [r["ActivityId"] for r in exported] != [r["ActivityId"] for r in expected]  # never id order
    assert exported and {r["ActivityType"] for r in exported} == {"Bounceback"}
    assert any(r["ContactId"] == "" for r in exported)  # orphan bouncebacks
    assert any(r["SmtpErrorCode"].startswith("5") or r["SmtpStatusCode"].startswith("5") for r in exported)


def test_activity_export_is_capped(sandbox_factory) -> None:
    sb = sandbox_factory(contacts=50, env={"SCC_SANDBOX_ACTIVITY_EXPORT_CAP": "7"})
    exported = export_rows(sb, "activities", {"Id": "{{Activity.Id}}"}, "'{{Activity.Type}}' = 'EmailSend'")
    assert len(exported) == 7


def test_custom_object_export(sandbox: SandboxHandle) -> None:
    cdos = get(sandbox, "/customObjects").json()["items"]
    responses = next(c for c in cdos if c["name"] == "Campaign Responses")
    fields = get(sandbox, f"{responses['uri']}/fields").json()["items"]
    by_name = {f["name"]: f for f in fields}
    assert by_name["ResponseId"]["hasUniquenessConstraint"] is True
    cdo_id = responses["uri"].rsplit("/", 1)[1]
    wanted = {
        n: by_name[n]["statement"] for n in ("ResponseId", "CampaignId", "ResponseStatus", "RespondedAt")
    }
    exported = export_rows(sandbox, f"customObjects/{cdo_id}", wanted)
    stored = sandbox.dump(f"customObjects/{cdo_id}")
    expected = [as_exported(sandbox, {n: row[st] for n, st in wanted.items()}, {"RespondedAt"}) for row in stored]
    assert sorted(exported, key=lambda r: r["ResponseId"]) == sorted(expected, key=lambda r: r["ResponseId"])


def test_field_metadata_is_paged(sandbox: SandboxHandle) -> None:
    first = get(sandbox, "/contacts/fields", limit=5, offset=0).json()
    assert first["count"] == 5 and first["hasMore"] is True and first["totalResults"] >= 20
    item = first["items"][0]
    assert set(item) >= {
        "name",
        "internalName",
        "dataType",
        "hasReadOnlyConstraint",
        "hasNotNullConstraint",
        "hasUniquenessConstraint",
        "statement",
        "uri",
        "createdAt",
        "updatedAt",
    }
    assert get(sandbox, item["uri"]).json() == item
    everything = get(sandbox, "/contacts/fields").json()
    assert everything["hasMore"] is False and len(everything["items"]) == everything["totalResults"]
    assert get(sandbox, "/contacts/fields", limit=1001).status_code == 400
    opens = get(sandbox, "/activities/fields", activityType="EmailOpen").json()["items"]
    statements = {f["statement"] for f in opens}
    bounceback_only = {ACTIVITIES.column(n).statement for n in BOUNCEBACK_ONLY_COLUMNS}
    assert {c.statement for c in ACTIVITIES.columns} - bounceback_only <= statements
    assert not bounceback_only & statements
    assert get(sandbox, "/activities/fields", activityType="Nope").status_code == 400
    found = get(sandbox, "/contacts/fields", q="name='Email*'").json()["items"]
    assert [f["internalName"] for f in found] == ["C_EmailAddress", "C_EmailDisplayName", "C_Email_Address_Domain"]


@pytest.fixture(scope="module")
def finished_sync(sandbox: SandboxHandle) -> str:
    uri = create_export(sandbox, "contacts", {"Id": "{{Contact.Id}}", "Email": EMAIL})
    sync_uri = sync(sandbox, uri)
    assert wait(sandbox, sync_uri)["status"] == "success"
    return sync_uri


def test_data_paging_edges(sandbox: SandboxHandle, finished_sync: str) -> None:
    total = len(sandbox.dump("contacts"))
    default = get(sandbox, f"{finished_sync}/data").json()
    assert (
        default["limit"] == 1000
        and default["offset"] == 0
        and default["count"] == total == default["totalResults"]
    )
    assert default["hasMore"] is False
    page = get(sandbox, f"{finished_sync}/data", limit=150, offset=300).json()
    assert page["count"] == total - 300 == len(page["items"]) and page["hasMore"] is False
    middle = get(sandbox, f"{finished_sync}/data", limit=100, offset=100).json()
    assert middle["count"] == 100 and middle["hasMore"] is True
    past = get(sandbox, f"{finished_sync}/data", offset=total + 5).json()
    assert past["count"] == 0 and "items" not in past and past["hasMore"] is False
    assert "totalResults" not in get(sandbox, f"{finished_sync}/data", totalResults="false").json()
    for limit in (0, 50001, -1):
        bad = get(sandbox, f"{finished_sync}/data", limit=limit)
        assert bad.status_code == 400 and bad.json()["failures"][0]["field"] == "limit"
    assert get(sandbox, f"{finished_sync}/data", limit=50000).status_code == 200
    assert get(sandbox, f"{finished_sync}/data", offset=-1).status_code == 400
    pages = rows(sandbox, finished_sync, limit=77)
    assert [r["Id"] for r in pages] == [r["Id"] for r in default["items"]]


def test_data_as_csv(sandbox: SandboxHandle, finished_sync: str) -> None:
    response = requests.get(
        f"{sandbox.bulk_url}{finished_sync}/data",
        params={"limit": 3},
        auth=sandbox.auth,
        headers={"Accept": "text/csv"},
        timeout=10,
    )
    assert response.headers["Content-Type"].startswith("text/csv")
    lines = response.text.splitlines()
    assert lines[0] == "Id,Email" and len(lines) == 4


def test_only_the_creating_user_reads_sync_data(sandbox: SandboxHandle, finished_sync: str) -> None:
    other = get(sandbox, f"{finished_sync}/data", auth=sandbox.other_auth)
    assert other.status_code == 403
    assert get(sandbox, finished_sync, auth=sandbox.other_auth).status_code == 200  # status is not private


def test_empty_result_has_no_items_key(sandbox: SandboxHandle) -> None:
    uri = create_export(
        sandbox, "contacts", {"Id": "{{Contact.Id}}"}, f"'{EMAIL}' = 'nobody@nowhere.invalid'"
    )
    sync_uri = sync(sandbox, uri)
    wait(sandbox, sync_uri)
    body = get(sandbox, f"{sync_uri}/data").json()
    assert body == {"totalResults": 0, "limit": 1000, "offset": 0, "count": 0, "hasMore": False}


def test_deleting_data_then_reading_gives_404(sandbox: SandboxHandle) -> None:
    uri = create_export(sandbox, "contacts", {"Id": "{{Contact.Id}}"})
    sync_uri = sync(sandbox, uri)
    wait(sandbox, sync_uri)
    assert (
        requests.delete(f"{sandbox.bulk_url}{sync_uri}/data", auth=sandbox.auth, timeout=10).status_code
        == 204
    )
    assert get(sandbox, f"{sync_uri}/data").status_code == 404


def test_data_expires_after_the_retention_duration(sandbox_factory) -> None:
    sb = sandbox_factory(contacts=20)
    uri = create_export(sb, "contacts", {"Id": "{{Contact.Id}}"}, dataRetentionDuration="PT1H")
    sync_uri = sync(sb, uri)
    wait(sb, sync_uri)
    assert get(sb, f"{sync_uri}/data").status_code == 200
    requests.post(f"{sb.url}/sandbox/clock", json={"advance": "PT61M"}, timeout=10).raise_for_status()
    assert get(sb, f"{sync_uri}/data").status_code == 404


def test_second_sync_of_a_busy_definition_ends_in_error(sandbox_factory) -> None:
    sb = sandbox_factory(contacts=20, sync_delay=0.5)
    uri = create_export(sb, "contacts", {"Id": "{{Contact.Id}}"})
    first, second = sync(sb, uri), sync(sb, uri)
    assert wait(sb, first)["status"] == "success"
    assert wait(sb, second)["status"] == "error"
    logs = get(sb, f"{second}/logs").json()["items"]
    assert any(entry["severity"] == "error" and first in entry["message"] for entry in logs)


def test_state_counts_requests_and_concurrent_syncs(sandbox_factory) -> None:
    sb = sandbox_factory(contacts=20, sync_delay=0.3)
    uris = [create_export(sb, "contacts", {"Id": "{{Contact.Id}}"}) for _ in range(3)]
    syncs = [sync(sb, u) for u in uris]
    other = sync(sb, create_export(sb, "contacts", {"Id": "{{Contact.Id}}"}), auth=sb.other_auth)
    for s in [*syncs, other]:
        wait(sb, s)
    state = sb.state()
    assert state["max_active_syncs"] == 4
    assert state["max_active_syncs_by_user"] == {sb.user: 3, sb.other_user: 1}
    assert state["active_syncs"] == 0
    assert state["requests"]["POST /contacts/exports"] == {"201": 4}
    assert state["requests"]["POST /syncs"] == {"201": 4}
    recorded = {s["uri"]: s for s in state["syncs"]}
    assert recorded[syncs[0]]["definition"]["uri"] == uris[0]
    assert recorded[syncs[0]]["outcome"] == {"exported": 20} and recorded[syncs[0]]["status"] == "success"


def test_unknown_route_is_404_and_wrong_method_405(sandbox: SandboxHandle) -> None:
    assert get(sandbox, "/nothing/here").status_code == 404
    assert (
        requests.put(f"{sandbox.bulk_url}/syncs", auth=sandbox.auth, json={}, timeout=10).status_code == 405
    )


def test_dump_formats_like_an_export(sandbox: SandboxHandle) -> None:
    row = sandbox.dump("contacts")[0]
    assert row["{{Contact.Id}}"] == "1"
    assert row["{{Contact.CreatedAt}}"] == row["{{Contact.Field(C_DateCreated)}}"]
    assert re.fullmatch(r"\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}\.\d{3}", row["{{Contact.UpdatedAt}}"])
    assert date.fromisoformat(row["{{Contact.UpdatedAt}}"][:10]) < sandbox.as_of


def test_callback_url_is_called_when_the_sync_ends(sandbox: SandboxHandle) -> None:
    import http.server
    import threading

    received: list[bytes] = []
    done = threading.Event()

    class Hook(http.server.BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            received.append(self.rfile.read(int(self.headers["Content-Length"])))
            self.send_response(204)
            self.end_headers()
            done.set()

        def log_message(self, *args: object) -> None:
            pass

    server = http.server.HTTPServer(("127.0.0.1", 0), Hook)
    threading.Thread(target=server.handle_request, daemon=True).start()
    try:
        uri = create_export(sandbox, "contacts", {"Id": "{{Contact.Id}}"})
        callback = f"http://127.0.0.1:{server.server_address[1]}/done"
        response = post(sandbox, "/syncs", {"syncedInstanceUri": uri, "callbackUrl": callback})
        assert response.json()["callbackUrl"] == callback
        assert done.wait(30)
        assert json.loads(received[0]) == {"uri": response.json()["uri"], "status": "success"}
    finally:
        server.server_close()
