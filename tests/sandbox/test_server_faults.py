"""Fault injection: status bursts, dropped connections, slow/stuck/failing syncs, early expiry,
determinism."""

from __future__ import annotations

import pytest
import requests

from tests.fixtures.sandbox import SandboxHandle
from tests.sandbox.bulk import create_export, get, sync, wait

pytestmark = pytest.mark.integration

ID = {"Id": "{{Contact.Id}}"}


@pytest.fixture
def sb(sandbox_factory) -> SandboxHandle:
    return sandbox_factory(contacts=30)


def finished_sync(sb: SandboxHandle) -> str:
    sync_uri = sync(sb, create_export(sb, "contacts", ID))
    assert wait(sb, sync_uri)["status"] == "success"
    return sync_uri


@pytest.mark.parametrize(
    ("status", "body"),
    [
        (429, "Too Many Requests"),
        (503, "There was a timeout processing the request."),
        (500, "There was an internal server error."),
    ],
)
def test_status_bursts_hit_the_route_count_times_then_stop(sb: SandboxHandle, status: int, body: str) -> None:
    sync_uri = finished_sync(sb)
    sb.set_faults(
        {"faults": [{"kind": "status", "route": "GET /syncs/*/data", "status": status, "count": 2}]}
    )
    first, second, third = (get(sb, f"{sync_uri}/data") for _ in range(3))
    assert (first.status_code, second.status_code, third.status_code) == (status, status, 200)
    assert first.json() == body
    assert "Retry-After" not in first.headers
    assert get(sb, sync_uri).status_code == 200  # other routes are untouched
    assert sb.state()["requests"]["GET /syncs/{id}/data"] == {str(status): 2, "200": 1}


def test_after_lets_requests_through_first(sb: SandboxHandle) -> None:
    sb.set_faults(
        {"faults": [{"kind": "status", "route": "GET /contacts/fields", "status": 503, "after": 1}]}
    )
    codes = [get(sb, "/contacts/fields").status_code for _ in range(3)]
    assert codes == [200, 503, 200]


def test_dropped_connection_mid_response(sb: SandboxHandle) -> None:
    sync_uri = finished_sync(sb)
    sb.set_faults({"faults": [{"kind": "drop", "route": "GET /syncs/*/data"}]})
    with pytest.raises(requests.exceptions.RequestException):
        get(sb, f"{sync_uri}/data")
    assert get(sb, f"{sync_uri}/data").json()["count"] == 30


def test_slow_pending_sync_is_pending_first_then_succeeds(sb: SandboxHandle) -> None:
    # What the fault promises is an order of states, not a duration (bench/ measures durations).
    sb.set_faults({"faults": [{"kind": "slow_pending", "match": "/contacts/exports/*", "seconds": 5}]})
    sync_uri = sync(sb, create_export(sb, "contacts", ID))
    assert get(sb, sync_uri).json()["status"] == "pending"
    done = wait(sb, sync_uri)
    assert done["status"] == "success"
    assert "syncStartedAt" in done


def test_stuck_pending_sync_stays_pending_until_faults_are_cleared(sb: SandboxHandle) -> None:
    sb.set_faults({"faults": [{"kind": "stuck_pending", "match": "*", "count": 1}]})
    stuck = sync(sb, create_export(sb, "contacts", ID))
    normal = sync(sb, create_export(sb, "contacts", ID))
    assert wait(sb, normal)["status"] == "success"
    assert get(sb, stuck).json()["status"] == "pending"
    assert get(sb, f"{stuck}/data").json() == {
        "totalResults": 0,
        "limit": 1000,
        "offset": 0,
        "count": 0,
        "hasMore": False,
    }
    assert sb.state()["active_syncs"] == 1
    sb.clear_faults()
    assert wait(sb, stuck)["status"] == "success"


def test_sync_that_ends_in_error(sb: SandboxHandle) -> None:
    sb.set_faults({"faults": [{"kind": "sync_error", "match": "/contacts/exports/*", "message": "boom"}]})
    failed = sync(sb, create_export(sb, "contacts", ID))
    done = wait(sb, failed)
    assert done["status"] == "error" and "syncEndedAt" in done
    logs = get(sb, f"{failed}/logs").json()["items"]
    assert (logs[0]["severity"], logs[0]["message"]) == ("error", "boom")
    assert get(sb, f"{failed}/data").json()["count"] == 0
    assert wait(sb, sync(sb, create_export(sb, "contacts", ID)))["status"] == "success"  # count 1 is spent


def test_data_that_expires_early(sb: SandboxHandle) -> None:
    sync_uri = finished_sync(sb)
    sb.set_faults({"faults": [{"kind": "expire_data", "match": "*", "after_pages": 1}]})
    assert get(sb, f"{sync_uri}/data", limit=10).status_code == 200
    assert get(sb, f"{sync_uri}/data", limit=10, offset=10).status_code == 404
    sb.clear_faults()
    assert get(sb, f"{sync_uri}/data").status_code == 404  # expired data stays gone


def test_probabilistic_faults_are_deterministic_under_a_seed(sandbox_factory) -> None:
    spec = {
        "seed": 11,
        "faults": [
            {
                "kind": "status",
                "route": "GET /contacts/fields",
                "status": 429,
                "count": None,
                "probability": 0.5,
            }
        ],
    }
    patterns = []
    for _ in range(2):
        sb = sandbox_factory(contacts=5, faults=spec)  # loaded from --faults FILE
        patterns.append([get(sb, "/contacts/fields").status_code for _ in range(20)])
    assert patterns[0] == patterns[1]
    assert set(patterns[0]) == {200, 429}


def test_fault_spec_errors_are_400_and_listed_faults_show_remaining(sb: SandboxHandle) -> None:
    bad = requests.put(f"{sb.url}/sandbox/faults", json={"faults": [{"kind": "meteor"}]}, timeout=10)
    assert bad.status_code == 400 and "kind" in bad.json()["failures"][0]["constraint"]
    sb.set_faults({"faults": [{"kind": "status", "route": "GET /syncs", "status": 500, "count": 3}]})
    get(sb, "/syncs")
    listed = requests.get(f"{sb.url}/sandbox/faults", timeout=10).json()["faults"][0]
    assert (listed["remaining"], listed["fired"]) == (2, 1)
