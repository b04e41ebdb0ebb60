"""Finding 6 of issue 13: a sync that ends in ``error`` or whose data expires early starts one new sync in the
same run (``[extract] max_sync_restarts``), the dropped sync's data released in Eloqua; beyond the limit the
task fails with one line. Real ``luigi`` runs against the sandbox's fault injection over sockets."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.luigi_tasks.test_extract import export_syncs, luigi_cfg, run_luigi_cli, subprocess_env
from tests.luigi_tasks.test_extract_resume import STATE, D, assert_exact_rows

pytestmark = [pytest.mark.integration, pytest.mark.slow]

PAGE = 40
RELEASED = "DELETE /syncs/{id}/data"


def released(sandbox) -> int:
    return int(sandbox.state()["requests"].get(RELEASED, {}).get("204", 0))


def extract(sandbox, tmp_path: Path, extract_lines: str = "") -> tuple[object, Path]:
    lake = tmp_path / "lake"
    config = luigi_cfg(tmp_path / "luigi.cfg", f"file://{lake}", page_size=PAGE)
    config.write_text(config.read_text().replace("[extract]\n", "[extract]\n" + extract_lines, 1))
    env = subprocess_env(sandbox, config)
    return run_luigi_cli(["ExtractContacts", "--date", str(D)], env), lake


@pytest.mark.parametrize("fault", [
    {"kind": "sync_error", "match": "*", "message": "Temporary failure processing the sync; retry later."},
    {"kind": "expire_data", "match": "/syncs/*", "after_pages": 2},
], ids=["sync_error", "expired_early"])
def test_a_failed_or_expired_sync_is_replaced_once_within_the_run(sandbox_factory, tmp_path, fault):
    sandbox = sandbox_factory(contacts=300, seed=11)
    sandbox.set_faults({"faults": [{**fault, "count": 1}]})

    done, lake = extract(sandbox, tmp_path)

    assert done.returncode == 0, done.stderr[-3000:]
    assert_exact_rows(lake, sandbox)
    syncs = [s["uri"] for s in export_syncs(sandbox)]
    assert len(syncs) == 2, syncs
    manifest = json.loads((lake / "raw" / "contacts" / f"run_date={D}" / "_export.json").read_text())
    assert manifest["sync_uri"] == syncs[1]
    # both syncs' data released: the dropped one when it was replaced, the published one after publication
    assert released(sandbox) == 2
    assert "starting new sync 1 of at most 1" in done.stderr


def test_restarts_are_bounded_and_the_last_failure_is_one_line(sandbox_factory, tmp_path):
    sandbox = sandbox_factory(contacts=120, seed=12)
    sandbox.set_faults({"faults": [{"kind": "sync_error", "match": "*", "message": "Still failing.",
                                    "count": None}]})

    done, lake = extract(sandbox, tmp_path, "max_sync_restarts = 2\n")

    assert done.returncode != 0
    assert len(export_syncs(sandbox)) == 3  # the first sync and two restarts, no more
    lines = [line for line in done.stderr.splitlines() if "max_sync_restarts = 2" in line]
    assert lines and "after 2 new sync(s)" in lines[0] and "Still failing." in lines[0], done.stderr[-3000:]
    assert not (lake / "raw" / "contacts" / f"run_date={D}").exists()
    assert not (lake / STATE).exists(), "a rerun must start afresh, not wait on the failed sync"
    assert not list(lake.glob("raw/contacts/_tmp*"))
    assert released(sandbox) == 3
