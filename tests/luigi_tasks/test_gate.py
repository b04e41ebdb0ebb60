"""``GatePayload``: its command line, dependency and output, and real ``spark-submit`` runs of ``jobs/gate.py``
through it: a first load fails with the job's one line, and the approved rerun completes the task."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from luigi.contrib.external_program import ExternalProgramRunError

from contract.objects import CONTACTS, PAYLOADS
from lake.paths import local_path
from lake.storage import Lake, open_lake
from luigi_tasks import spark_submit
from luigi_tasks import spark_tasks as st
from luigi_tasks.gate import GateFailedError, GatePayload, failure_line
from tests.jobs.rawlake import utc, write_dataset

D = dt.date(2026, 11, 27)


@pytest.fixture(autouse=True)
def no_approvals() -> Iterator[None]:
    """Approvals last for the process (see luigi_tasks.spark_submit): each test starts without any."""
    spark_submit._APPROVED_FIRST_LOADS.clear()
    yield
    spark_submit._APPROVED_FIRST_LOADS.clear()


@pytest.fixture()
def file_lake(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Lake]:
    url = "file://" + str(tmp_path / "lake")
    monkeypatch.setenv("SCC_LAKE_URL", url)
    yield open_lake(url)


def test_command_line_names_the_pipeline_and_the_approval(file_lake) -> None:
    day = D + dt.timedelta(days=40)  # approvals last for the process: a day no other test approves
    assert GatePayload(pipeline="lead_scoring", date=day).app_options() == [
        "--date", day.isoformat(), "--lake", file_lake.url, "--jobs", "gate:lead_scoring",
        "--exit-for", "gate:lead_scoring"]
    assert GatePayload(pipeline="lead_scoring", date=day, approve_initial_load=True).app_options()[-2:] == [
        "--approve-initial-load", "lead_scoring"]
    assert GatePayload(pipeline="lead_scoring", date=day).app.endswith("/jobs/night.py")


def test_the_approval_reaches_the_gate_in_the_night_of_the_snapshot_and_of_its_pipeline(file_lake) -> None:
    day = D + dt.timedelta(days=41)
    assert "--approve-initial-load" not in st.ContactsSnapshot(date=day).app_options()
    GatePayload(pipeline="hard_bounces", date=day, approve_initial_load=True)  # as LoadPayload.requires() does
    for task in (st.ContactsSnapshot(date=day), st.HardBounces(date=day)):
        options = task.app_options()
        assert options[options.index("--approve-initial-load"):] == ["--approve-initial-load", "hard_bounces"]
    assert "--approve-initial-load" not in st.LeadScoring(date=day).app_options()


def test_a_gate_whose_flag_the_night_wrote_returns_without_submitting(file_lake) -> None:
    import luigi

    config = luigi.configuration.get_config()
    if not config.has_section("spark"):
        config.add_section("spark")
    config.set("spark", "spark_submit", "false")  # /bin/false: any submission fails
    try:
        task = GatePayload(pipeline="lead_scoring", date=D)
        flag = Path(local_path(task.output_url()))
        flag.parent.mkdir(parents=True)
        with pytest.raises(ExternalProgramRunError):
            task.run()
        flag.touch()
        task.run()  # returns at once: nothing submitted
    finally:
        config.remove_option("spark", "spark_submit")


def test_the_approval_is_not_part_of_the_task_identity_or_output(file_lake) -> None:
    plain, approved = GatePayload(pipeline="hard_bounces", date=D), GatePayload(
        pipeline="hard_bounces", date=D, approve_initial_load=True)
    assert plain.task_id == approved.task_id
    assert plain.output().url == approved.output().url == (
        file_lake.layout.quality("hard_bounces", D) + "/_PASSED")


@pytest.mark.parametrize("pipeline", list(PAYLOADS))
def test_each_gate_requires_its_own_pipeline_only(file_lake, pipeline) -> None:
    task = GatePayload(pipeline=pipeline, date=D)
    assert task.requires() == {"payload": st.SPARK_TASKS[1 + list(PAYLOADS).index(pipeline)](date=D)}
    assert task.requires()["payload"].output().url == file_lake.layout.import_ready(pipeline, D)
    assert task.resources == {"scc_data_docs": 1}


def test_the_failure_line_is_the_gate_s_own_among_spark_logs() -> None:
    stderr = "\n".join([
        "26/11/28 02:00:00 INFO SparkContext: Running Spark version 4.1.1",
        "gate lead_scoring 2026-11-27: failed expect_column_values_to_be_unique(EmailAddress); Data Docs: file:///x",
        "26/11/28 02:00:09 INFO ShutdownHookManager: Shutdown hook called",
    ])
    assert failure_line(stderr, "lead_scoring", "2026-11-27") == (
        "gate lead_scoring 2026-11-27: failed expect_column_values_to_be_unique(EmailAddress); Data Docs: file:///x")
    assert failure_line("missing input: the lead_scoring payload at file:///l has no _SUCCESS", "lead_scoring",
                        "2026-11-27") == ("gate of lead_scoring for 2026-11-27 could not run: missing input: "
                                          "the lead_scoring payload at file:///l has no _SUCCESS")
    assert failure_line("Exception in thread main", "lead_scoring", "2026-11-27") is None


@pytest.mark.slow
def test_a_first_load_fails_in_one_line_and_the_approved_rerun_completes_the_task(file_lake) -> None:
    layout = file_lake.layout
    write_dataset(layout.staged_contacts(D), CONTACTS, [
        {"ContactId": str(n), "EmailAddress": f"c{n}@x.com", "UpdatedAt": utc("2026-11-01 00:00:00")}
        for n in range(4)])
    bounces = [{"EmailAddress": f"c{n}@x.com", "HardBouncedAt": utc("2026-11-27 08:00:00"), "IsBounced": True}
               for n in range(3)]  # 3 rows over a ceiling of floor(0.5 x 4) = 2
    write_dataset(layout.import_ready("hard_bounces", D), PAYLOADS["hard_bounces"], bounces)
    task = GatePayload(pipeline="hard_bounces", date=D)
    assert task.requires()["payload"].output().exists()  # written by hand: no lineage, so not "complete"

    with pytest.raises(GateFailedError) as failure:
        task.run()
    result = json.loads(Path(local_path(layout.quality("hard_bounces", D)), "result.json").read_text())
    assert str(failure.value) == (
        f"gate hard_bounces {D}: initial load (no receipt under {layout.url}/loaded/hard_bounces before {D}): "
        f"rerun with --approve-initial-load to load it; failed expect_table_row_count_to_be_between; "
        f"Data Docs: {result['data_docs_page']}")
    assert not task.complete()
    assert not GatePayload(pipeline="hard_bounces", date=D, approve_initial_load=True).complete()

    approved = GatePayload(pipeline="hard_bounces", date=D, approve_initial_load=True)
    approved.run()
    assert approved.complete() and task.complete()
    result = json.loads(Path(local_path(layout.quality("hard_bounces", D)), "result.json").read_text())
    assert (result["success"], result["initial_load_approved"], result["max_rows"]) == (True, True, None)
