"""Where a Spark application's time went, from its event log: one line per Spark job, longest first.

    spark-submit --conf spark.eventLog.enabled=true --conf spark.eventLog.dir=file:///tmp/events jobs/night.py ...
    .venv/bin/python bench/eventlog.py /tmp/events/local-1764460000000 [--top 25]

Prints, per Spark job: its wall seconds, its stages and tasks, the bytes it read and shuffled, and the call
site that started it (``count at ...``, ``parquet at ...``), then the totals; for finding work that is
repeated (a dataset read back to count it), tasks far more numerous than the cores, or listing jobs.
"""

from __future__ import annotations

import argparse
import json
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path


@dataclass
class SparkJob:
    job_id: int
    started: float = 0.0
    ended: float = 0.0
    stages: list[int] = field(default_factory=list)
    call_site: str = ""

    @property
    def seconds(self) -> float:
        return (self.ended - self.started) / 1000


def read(path: Path) -> tuple[list[SparkJob], dict[int, dict[str, int]], float]:
    """The Spark jobs, per-stage ``{tasks, input bytes, shuffle bytes}``, and the application's wall seconds."""
    jobs: dict[int, SparkJob] = {}
    executions: dict[str, str] = {}  # SQL execution id -> what started it (count, parquet, ...)
    stages: dict[int, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    app_start = app_end = 0.0
    with path.open(encoding="utf-8") as handle:
        for line in handle:
            event = json.loads(line)
            kind = event["Event"]
            if kind == "SparkListenerApplicationStart":
                app_start = event["Timestamp"]
            elif kind == "SparkListenerApplicationEnd":
                app_end = event["Timestamp"]
            elif kind.endswith("SparkListenerSQLExecutionStart"):
                details = (event.get("details") or "").splitlines()
                caller = next((line for line in details if ".py:" in line), details[0] if details else "")
                executions[str(event["executionId"])] = f"{event.get('description', '')} ({caller.strip()})"
            elif kind == "SparkListenerJobStart":
                props = event.get("Properties") or {}
                infos = event.get("Stage Infos") or [{}]
                site = executions.get(str(props.get("spark.sql.execution.id")), "") or infos[-1].get(
                    "Stage Name", "")
                jobs[event["Job ID"]] = SparkJob(event["Job ID"], event["Submission Time"],
                                                 stages=list(event.get("Stage IDs") or []), call_site=site)
            elif kind == "SparkListenerJobEnd":
                jobs[event["Job ID"]].ended = event["Completion Time"]
            elif kind == "SparkListenerTaskEnd":
                metrics = event.get("Task Metrics") or {}
                stage = stages[event["Stage ID"]]
                stage["tasks"] += 1
                stage["input"] += (metrics.get("Input Metrics") or {}).get("Bytes Read", 0)
                stage["shuffle"] += (metrics.get("Shuffle Read Metrics") or {}).get("Remote Bytes Read", 0) + (
                    metrics.get("Shuffle Read Metrics") or {}).get("Local Bytes Read", 0)
    return list(jobs.values()), stages, (app_end - app_start) / 1000


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("event_log", type=Path)
    parser.add_argument("--top", type=int, default=25, help="Spark jobs to list (longest first)")
    args = parser.parse_args(argv)
    jobs, stages, wall = read(args.event_log)
    print(f"{'seconds':>8} {'stages':>6} {'tasks':>6} {'input MiB':>10} {'shuffle MiB':>11}  call site")
    for job in sorted(jobs, key=lambda j: j.seconds, reverse=True)[: args.top]:
        tasks = sum(stages[s]["tasks"] for s in job.stages)
        read_bytes = sum(stages[s]["input"] for s in job.stages)
        shuffled = sum(stages[s]["shuffle"] for s in job.stages)
        print(f"{job.seconds:8.2f} {len(job.stages):6d} {tasks:6d} {read_bytes / 2**20:10.1f} "
              f"{shuffled / 2**20:11.1f}  {job.call_site}")
    busy = sum(j.seconds for j in jobs)
    tasks = sum(s["tasks"] for s in stages.values())
    print(f"{len(jobs)} Spark jobs, {tasks} tasks, {busy:.1f} s in jobs, application {wall:.1f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
