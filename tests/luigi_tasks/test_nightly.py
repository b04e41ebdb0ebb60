"""``Nightly(D)``: extract -> Spark -> gate -> load for the four pipelines; the initial-load approval as a run-wide
setting; and a night where one payload is broken on purpose: its gate fails, Eloqua sees no import for it, the
other three load, and ``scc nightly`` names it in one line, writes the report and exits non-zero."""

from __future__ import annotations

import datetime as dt
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import luigi
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from contract.objects import PIPELINES
from eloqua.imports import definition_name
from lake.paths import LakeLayout, local_path
from luigi_tasks import config, spark_submit
from luigi_tasks import spark_tasks as st
from luigi_tasks.extract import ExtractAll
from luigi_tasks.gate import GatePayload
from luigi_tasks.load import LoadPayload
from luigi_tasks.nightly import Nightly, pipeline_failures

D = dt.date(2026, 11, 26)
BROKEN = "contact_washing"


@pytest.fixture(autouse=True)
def clean_process_state(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """Approvals and pinned flags last for the process: each test starts and ends without any."""
    monkeypatch.setenv("SCC_LAKE_URL", f"file://{tmp_path}/lake")
    monkeypatch.delenv("SCC_APPROVE_INITIAL_LOAD", raising=False)
    spark_submit._APPROVED_FIRST_LOADS.clear()
    config.clear_flags()
    yield
    spark_submit._APPROVED_FIRST_LOADS.clear()
    config.clear_flags()


def test_the_night_is_the_extract_and_each_pipeline_s_load_behind_its_gate() -> None:
    night = list(Nightly(date=D).requires())
    assert night == [ExtractAll(date=D), *(LoadPayload(pipeline=p, date=D) for p in PIPELINES)]
    for load in night[1:]:
        gate = load.requires()
        assert gate == GatePayload(pipeline=load.pipeline, date=D)
        assert gate.requires() == {"payload": st.SPARK_TASKS[1 + list(PIPELINES).index(load.pipeline)](date=D)}


def test_the_approval_is_run_wide_and_reaches_every_gate_without_changing_a_task_id(
        monkeypatch: pytest.MonkeyPatch) -> None:
    day = D + dt.timedelta(days=50)  # approvals last for the process: a day no other test approves
    plain = {t.task_id for t in Nightly(date=day).requires()}
    assert "--approve-initial-load" not in st.ContactsSnapshot(date=day).app_options()

    monkeypatch.setenv("SCC_APPROVE_INITIAL_LOAD", "true")
    approved = list(Nightly(date=day).requires())
    assert {t.task_id for t in approved} == plain
    assert all(t.approve_initial_load for t in approved[1:])
    assert all(t.requires().approve_initial_load for t in approved[1:])  # as luigi's scheduling calls them
    options = st.ContactsSnapshot(date=day).app_options()  # the night that runs every gate
    assert [options[i + 1] for i, o in enumerate(options) if o == "--approve-initial-load"] == list(PIPELINES)

    config.pin_flags(approve_initial_load=False)  # the flag wins over the environment (README, "Settings")
    assert config.approve_initial_load() is False


def test_without_a_luigi_result_every_pipeline_not_loaded_is_named() -> None:
    assert pipeline_failures(None, D) == {p: f"{p} {D}: not loaded; not run" for p in PIPELINES}


def _env(sb, lake_url: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("ELOQUA_", "SCC_", "LUIGI_CONFIG_PATH"))}
    return {**env, "ELOQUA_LOGIN_URL": sb.url, "ELOQUA_SITE": sb.site, "ELOQUA_USER": sb.user,
            "ELOQUA_PASSWORD": sb.password, "SCC_LAKE_URL": lake_url}


def _break(url: str) -> int:
    """Duplicate the payload's first row in place (``_SUCCESS`` and ``_inputs.json`` kept, so the payload still
    counts as built): its identifier is no longer unique. Returns the payload's rows before."""
    folder = Path(local_path(url))
    parts = sorted(folder.glob("*.parquet"))
    table = pa.concat_tables([pq.read_table(p) for p in parts])
    for part in parts:
        part.unlink()
    pq.write_table(pa.concat_tables([table, table.slice(0, 1)]), folder / "part-00000-broken.parquet")
    return table.num_rows


@pytest.mark.integration
@pytest.mark.slow
def test_a_broken_payload_blocks_only_its_own_load(sandbox_factory, tmp_path: Path,
                                                   monkeypatch: pytest.MonkeyPatch) -> None:
    sb = sandbox_factory(contacts=150, seed=11, as_of=(D + dt.timedelta(days=1)).isoformat(), sync_delay=0.05)
    layout = LakeLayout(f"file://{tmp_path}/lake")
    for name, value in _env(sb, layout.url).items():
        monkeypatch.setenv(name, value)  # the luigi.build below runs in this process
    # The night up to the gates; every gate but BROKEN's approved, so only BROKEN's waits for its rerun.
    gates = [GatePayload(pipeline=p, date=D, approve_initial_load=p != BROKEN) for p in PIPELINES]
    luigi.build(gates, local_scheduler=True, workers=1)
    assert [g.complete() for g in gates] == [p != BROKEN for p in PIPELINES]
    rows = _break(layout.import_ready(BROKEN, D))
    assert rows > 0

    result = subprocess.run(
        [sys.executable, "-m", "luigi_tasks.cli", "nightly", "--date", D.isoformat(), "--lake", layout.url,
         "--local-scheduler", "--approve-initial-load", "--workers", "2"],
        env=_env(sb, layout.url), capture_output=True, text=True, timeout=900)

    assert result.returncode == 30, result.stderr[-3000:]
    said = [line for line in result.stderr.splitlines() if line.startswith("scc: ")]
    assert len(said) == 1, result.stderr[-3000:]
    assert said[0].startswith(f"scc: {BROKEN} {D}: not loaded; failed: GatePayload(") and \
        f"pipeline={BROKEN}" in said[0]
    gate = json.loads(Path(local_path(layout.quality(BROKEN, D)), "result.json").read_text())
    assert (gate["success"], gate["initial_load_approved"]) == (False, True)
    assert gate["failed_expectations"]  # the duplicate, not the approval, failed it

    imports = {s["definition"]["name"] for s in sb.state()["syncs"] if s["kind"] == "imports"}
    assert imports == {definition_name(p, D) for p in PIPELINES if p != BROKEN}
    assert not Path(local_path(layout.loaded_receipt(BROKEN, D))).exists()
    for pipeline in PIPELINES:
        if pipeline != BROKEN:
            receipt = json.loads(Path(local_path(layout.loaded_receipt(pipeline, D))).read_text())
            assert receipt["status"] in ("success", "warning")

    report = Path(local_path(layout.report(D)))
    assert f"report: {layout.report(D)}" in result.stdout.splitlines()
    assert report.exists() and BROKEN in report.read_text()
