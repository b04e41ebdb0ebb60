"""``LoadPayload`` under Luigi: its receipt is its output, a rerun is a no-op, a failed sync fails the task and
the rerun completes it; it holds the Bulk sync resource and requires the quality gate."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import luigi
import pytest

from eloqua.imports import definition_name
from lake.storage import Lake, open_lake
from luigi_tasks.load import LoadPayload, PayloadReady
from tests.eloqua.test_imports import EMAIL, clean_contacts, lead_payload, write_payload
from tests.fixtures.sandbox import SandboxHandle

pytestmark = pytest.mark.integration

D = dt.date(2026, 11, 26)


class UngatedLoad(LoadPayload):
    """The load on a payload without its gate: for these tests only (production loads are always gated)."""

    def requires(self) -> luigi.Task:
        return PayloadReady(pipeline=self.pipeline, date=self.date)


@pytest.fixture
def sb(sandbox_factory: Any) -> SandboxHandle:
    return sandbox_factory(contacts=200, seed=3)


@pytest.fixture(params=["file", "s3"])
def lake(request: pytest.FixtureRequest, tmp_path: Path, sb: SandboxHandle,
         monkeypatch: pytest.MonkeyPatch) -> Iterator[Lake]:
    """The run's lake and Eloqua, named to the task through the environment as in production."""
    if request.param == "file":
        url, opened, extra = f"file://{tmp_path}/lake", open_lake(f"file://{tmp_path}/lake"), {}
    else:
        seaweed = request.getfixturevalue("seaweed")
        url = seaweed.lake_url()
        opened, extra = open_lake(url, seaweed.settings()), seaweed.env({})
    for name, value in {**extra, "SCC_LAKE_URL": url, "ELOQUA_LOGIN_URL": sb.url, "ELOQUA_SITE": sb.site,
                        "ELOQUA_USER": sb.user, "ELOQUA_PASSWORD": sb.password}.items():
        monkeypatch.setenv(name, value)
    yield opened


def build(task: luigi.Task) -> luigi.execution_summary.LuigiRunResult:
    return luigi.build([task], local_scheduler=True, detailed_summary=True, workers=1)


def import_syncs(sb: SandboxHandle, pipeline: str = "lead_scoring") -> list[dict[str, Any]]:
    return [s for s in sb.state()["syncs"]
            if s["kind"] == "imports" and s["definition"]["name"] == definition_name(pipeline, D)]


def test_the_receipt_is_the_output_and_a_rerun_does_nothing(sb: SandboxHandle, lake: Lake) -> None:
    payload = lead_payload(clean_contacts(sb, 15))
    write_payload(lake, "lead_scoring", payload)
    task = UngatedLoad(pipeline="lead_scoring", date=D)
    assert not task.complete()
    assert build(task).status == luigi.execution_summary.LuigiStatusCode.SUCCESS
    assert task.complete()
    receipt = json.loads(lake.read_bytes(lake.layout.loaded_receipt("lead_scoring", D)))
    assert (receipt["status"], receipt["rows_staged"], receipt["rows_loaded"]) == ("success", 15, 15)
    loaded = {r[EMAIL]: r["{{Contact.Field(C_Lead_Rating1)}}"] for r in sb.dump("contacts")}
    assert {p["EmailAddress"]: loaded[p["EmailAddress"]] for p in payload} == \
        {p["EmailAddress"]: p["LeadRating"] for p in payload}
    assert build(UngatedLoad(pipeline="lead_scoring", date=D)).scheduling_succeeded
    assert len(import_syncs(sb)) == 1


def test_a_failed_sync_fails_the_task_and_the_rerun_completes_it(sb: SandboxHandle, lake: Lake) -> None:
    write_payload(lake, "lead_scoring", lead_payload(clean_contacts(sb, 10)))
    sb.set_faults({"faults": [{"kind": "sync_error", "match": "/contacts/imports/*", "count": 1}]})
    failed = build(UngatedLoad(pipeline="lead_scoring", date=D))
    assert failed.status == luigi.execution_summary.LuigiStatusCode.FAILED
    assert not lake.exists(lake.layout.loaded_receipt("lead_scoring", D))
    assert build(UngatedLoad(pipeline="lead_scoring", date=D)).status == \
        luigi.execution_summary.LuigiStatusCode.SUCCESS
    assert [s["status"] for s in import_syncs(sb)] == ["error", "success"]


def test_a_missing_payload_is_missing_data_not_a_load(lake: Lake) -> None:
    result = build(UngatedLoad(pipeline="hard_bounces", date=dt.date(2026, 1, 1)))
    assert result.status == luigi.execution_summary.LuigiStatusCode.MISSING_EXT


def test_the_load_holds_a_bulk_sync_and_requires_the_gate() -> None:
    task = LoadPayload(pipeline="campaign_responses", date=D, approve_initial_load=True)
    assert task.resources == {"eloqua_bulk_syncs": 1}
    gate = pytest.importorskip("luigi_tasks.gate")
    required = task.requires()
    assert required == gate.GatePayload(pipeline="campaign_responses", date=D)
    assert required.approve_initial_load is True  # insignificant, so not part of the equality above
