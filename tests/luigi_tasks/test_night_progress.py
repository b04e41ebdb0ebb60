"""The progress a submitted night reports through its JSON-lines file, as a Luigi task shows it."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import pytest

from eloqua.progress import LogProgress
from luigi_tasks.night_progress import FollowNight


def _append(path: Path, *events: dict, partial: str = "") -> None:
    with path.open("a", encoding="utf-8") as out:
        out.writelines(json.dumps(e) + "\n" for e in events)
        out.write(partial)


def test_jobs_done_count_and_stages_show_beside_them(tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="test.night")
    path = tmp_path / "night.jsonl"
    path.touch()
    progress = LogProgress("spark night 2026-11-27", interval=0.0, logger=logging.getLogger("test.night"),
                           verb="running", unit="jobs")
    follower = FollowNight(str(path), progress)
    _append(path, {"total": 3}, {"job": "contact_washing", "stages": [[4, 3, 16], [5, 0, 2]]},
            partial='{"done": "contact_wash')  # the driver is still writing this line
    follower.read()
    assert progress.total == 3 and progress.done == 0
    assert progress.line().endswith("[contact_washing: stage 4 3/16 tasks, stage 5 0/2 tasks]")
    _append(path, partial='ing", "exit": 0}\n')
    _append(path, {"done": "hard_bounces", "exit": "skipped"}, {"done": "lead_scoring", "exit": 1})
    follower.read()
    follower.stop()
    lines = [r.getMessage() for r in caplog.records if r.name == "test.night"]
    assert lines[0] == "spark night 2026-11-27: running 3 jobs"
    assert [line.split(" (")[0] for line in lines[1:4]] == [
        f"spark night 2026-11-27: {n}/3 jobs" for n in (1, 2, 3)]
    assert lines[1].endswith("[contact_washing: 0]") and lines[3].endswith("[lead_scoring: 1]")
    assert lines[-1].startswith("spark night 2026-11-27: 3/3 jobs (100%)") and lines[-1].endswith("(done)")
    assert len(lines) == 5


def test_a_missing_or_garbled_file_shows_nothing_and_fails_nothing(tmp_path: Path) -> None:
    progress = LogProgress("night", interval=0.0, unit="jobs")
    follower = FollowNight(str(tmp_path / "absent.jsonl"), progress)
    follower.read()
    garbled = tmp_path / "garbled.jsonl"
    garbled.write_text("not json\n")
    FollowNight(str(garbled), progress).read()
    assert (progress.total, progress.done) == (0, 0)
