"""Finding 7 of issue 13: what killed runs leave is removed by the next run, never a live run's.

Leftovers are aged by setting their files' mtime: older than ``[extract] cleanup_age`` they go when a task next
publishes into the same parent (staging folders, Spark ``_tmp.`` outputs, superseded state files, the latter's
sync data released in Eloqua); younger ones, as a live run's, stay.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import time
import uuid
from pathlib import Path

import pytest
import requests

from contract.objects import CONTACTS
from lake.cleanup import sweep
from lake.paths import LakeLayout, local_path
from lake.storage import open_lake
from tests.faults.test_sync_restarts import RELEASED, extract, released
from tests.jobs.rawlake import utc, write_dataset
from tests.luigi_tasks.test_extract_resume import D

HOUR = 3600.0


def age(path: Path, hours: float) -> None:
    """Make every file and folder under ``path`` (and itself) look ``hours`` old."""
    when = time.time() - hours * HOUR
    for p in [path, *path.rglob("*")]:
        os.utime(p, (when, when))


def leftover(folder: Path, hours: float) -> Path:
    (folder / "part-0000000000.parquet").parent.mkdir(parents=True, exist_ok=True)
    (folder / "part-0000000000.parquet").write_bytes(b"half a page")
    age(folder, hours)
    return folder


def test_sweep_removes_only_abandoned_staging_entries(tmp_path: Path) -> None:
    parent = tmp_path / "lake" / "raw" / "contacts"
    old_extract = leftover(parent / "_tmp-run_date_2026-11-01-0123456789ab", 13)
    old_spark = leftover(parent / "_tmp.run_date=2026-11-01.5f2c", 13)
    live = leftover(parent / "_tmp-run_date_2026-11-02-ba9876543210", 13)
    (live / "part-0000000001.parquet").write_bytes(b"a page written just now")  # its run is still writing
    young = leftover(parent / "_tmp-run_date_2026-11-03-aaaaaaaaaaaa", 1)
    dataset = leftover(parent / "run_date=2026-10-31", 100)  # published data is never a leftover

    lake = open_lake(f"file://{tmp_path / 'lake'}")
    removed = sweep(lake, f"file://{parent}", older_than=12 * HOUR)

    assert sorted(removed) == sorted(f"file://{p}" for p in (old_extract, old_spark))
    assert not old_extract.exists() and not old_spark.exists()
    assert live.exists() and young.exists() and dataset.exists()


@pytest.mark.integration
@pytest.mark.slow
def test_the_next_publication_removes_what_killed_runs_left_and_releases_their_syncs(sandbox_factory, tmp_path):
    sandbox = sandbox_factory(contacts=150, seed=13)
    # A sync a killed run recorded for another day, and its data still staged in Eloqua.
    definition = requests.post(f"{sandbox.bulk_url}/contacts/exports", auth=sandbox.auth, timeout=30, json={
        "name": "killed run", "fields": {"ContactId": "{{Contact.Id}}"}}).json()
    sync = requests.post(f"{sandbox.bulk_url}/syncs", auth=sandbox.auth, timeout=30,
                         json={"syncedInstanceUri": definition["uri"]}).json()
    lake = tmp_path / "lake"
    contacts = lake / "raw" / "contacts"
    abandoned = leftover(contacts / "_tmp-run_date_2026-11-01-0123456789ab", 13)
    live = leftover(contacts / "_tmp-run_date_2026-11-19-ba9876543210", 0)
    states = lake / "_state" / "extract" / "ExtractContacts"
    states.mkdir(parents=True)
    superseded = states / "date=2026-11-01,full_refresh=False.json"
    superseded.write_text(json.dumps({"task": "ExtractContacts(date=2026-11-01)", "phase": "syncing",
                                      "staging_url": f"file://{abandoned}", "sync_uri": sync["uri"],
                                      "definition_uri": definition["uri"], "plan": {}}))
    age(superseded, 13)
    running = states / "date=2026-11-18,full_refresh=False.json"  # a live run's: young
    running.write_text(json.dumps({"phase": "syncing", "staging_url": f"file://{live}", "sync_uri": "/syncs/99"}))

    done, _ = extract(sandbox, tmp_path, "cleanup_age = 43200\n")

    assert done.returncode == 0, done.stderr[-3000:]
    assert (contacts / f"run_date={D}" / "_SUCCESS").exists()
    assert not abandoned.exists() and not superseded.exists()
    assert live.exists() and running.exists()
    # the extract's own sync and the superseded one: both released
    assert released(sandbox) == 2, sandbox.state()["requests"].get(RELEASED)
    gone = requests.get(f"{sandbox.bulk_url}{sync['uri']}/data", auth=sandbox.auth, timeout=30)
    assert gone.status_code == 404


def spark_leftover(parent: Path, dataset: str, hours: float) -> Path:
    """What a Spark write on file:// killed mid-way leaves beside its dataset (jobs/_common.py's staged write):
    ``_tmp.<dataset>.<uuid>`` holding the committer's ``_temporary`` attempt folders and a part file."""
    folder = parent / f"_tmp.{dataset}.{uuid.uuid4().hex}"
    attempt = folder / "_temporary" / "0" / "_temporary" / "attempt_202611200000_0001_m_000000_0"
    attempt.mkdir(parents=True)
    (attempt / "part-00000-c000.snappy.parquet").write_bytes(b"half a part")
    age(folder, hours)
    return folder


@pytest.mark.spark
def test_a_spark_publication_removes_abandoned_tmp_outputs_beside_it_never_a_live_one(spark, tmp_path):
    from jobs import contacts_snapshot

    layout = LakeLayout(f"file://{tmp_path / 'lake'}")
    write_dataset(layout.raw_contacts(D), CONTACTS, [
        {"ContactId": "1", "EmailAddress": "ann@x.com", "UpdatedAt": utc(f"{D} 09:00:00")}])
    snapshots = Path(local_path(layout.staged_contacts_root()))
    killed = spark_leftover(snapshots, f"run_date={D - dt.timedelta(days=3)}", 13)  # a night killed 13 h ago
    live = spark_leftover(snapshots, f"run_date={D - dt.timedelta(days=1)}", 0)  # a write running right now

    assert contacts_snapshot.main(["--date", str(D), "--lake", layout.url]) == 0

    assert (snapshots / f"run_date={D}" / "_SUCCESS").exists()
    assert not killed.exists()
    assert live.exists() and list(live.rglob("*.parquet"))
