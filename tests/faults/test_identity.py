"""Finding 1 of issue 13: the lake is part of every lake-writing task's identity, and every Luigi outcome has
its documented exit code (``already_running`` included), against a real luigid."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import luigi
import pytest

from luigi_tasks import extract, load, spark_tasks
from luigi_tasks.gate import GatePayload

D = dt.date(2026, 11, 26)
LAKE_TASKS = [
    extract.ExtractContacts(date=D),
    extract.ExtractActivities(activity_type="EmailOpen", date=D),
    extract.ExtractActivityRange(activity_type="EmailOpen", start=D - dt.timedelta(days=2), end=D),
    extract.ExtractActivityLookback(date=D, activity_type="EmailOpen"),
    extract.ExtractCustomObject(object_name="sfdc_campaigns", date=D),
    extract.ExtractAll(date=D),
    load.PayloadReady(pipeline="lead_scoring", date=D),
    load.LoadPayload(pipeline="lead_scoring", date=D),
    load.LoadAll(date=D),
    spark_tasks.ContactsSnapshot(date=D),
    spark_tasks.LeadScoring(date=D),
    GatePayload(pipeline="lead_scoring", date=D),
]


@pytest.fixture(autouse=True)
def _lake_a(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SCC_LAKE_URL", str(tmp_path / "a"))


@pytest.mark.parametrize("task", LAKE_TASKS, ids=lambda t: t.get_task_family())
def test_two_lakes_are_two_tasks_and_the_default_is_the_resolved_lake(task: luigi.Task, tmp_path: Path) -> None:
    cls, params = type(task), {k: v for k, v in task.param_kwargs.items() if k != "target_lake"}
    on_a = cls(**params)  # instantiated here, after the fixture set the lake
    on_b = cls(**params, target_lake=f"file://{tmp_path / 'b'}")
    assert on_a.target_lake == f"file://{tmp_path / 'a'}"
    assert on_a.task_id != on_b.task_id
    assert cls(**params, target_lake=str(tmp_path / "a")).task_id == on_a.task_id  # one lake, two spellings


def test_a_wrapper_hands_its_lake_to_what_it_requires(tmp_path: Path) -> None:
    other = f"file://{tmp_path / 'b'}"
    required = luigi.task.flatten(extract.ExtractAll(date=D, target_lake=other).requires())
    assert {t.target_lake for t in required} == {other}
    assert {t.target_lake for t in load.LoadAll(date=D, target_lake=other).requires()} == {other}


def test_the_state_file_name_does_not_carry_the_lake(tmp_path: Path) -> None:
    task = extract.ExtractContacts(date=D)
    assert extract.state_url(task.lake, task).endswith(f"/ExtractContacts/date={D},full_refresh=False.json")


class Held(luigi.Task):
    """A task another worker of the scheduler is running."""

    lake = luigi.Parameter()

    def complete(self) -> bool:
        return False


def test_a_task_run_by_another_worker_exits_already_running(luigid, capsys: pytest.CaptureFixture[str]) -> None:
    from luigi.retcodes import retcode

    from luigi_tasks.cli import run_tasks

    held = Held(lake=luigid.url)
    # Another worker of the same luigid holds the task, as a concurrent run of the same day and lake would.
    luigi.rpc.RemoteScheduler(luigid.url).add_task(
        worker="another-scc-run", task_id=held.task_id, status="RUNNING", runnable=True, family="Held",
        params={"lake": luigid.url}, module=__name__)
    parser = luigi.configuration.get_config()
    parser.set("core", "scheduler_url", luigid.url)
    try:
        code = run_tasks([held], workers=1, local_scheduler=False)
    finally:
        parser.remove_option("core", "scheduler_url")
    assert code == (retcode().already_running or 10)
    assert code != 0
    assert "another scc process" in capsys.readouterr().err
