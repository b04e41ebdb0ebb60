"""A job's write on ``s3a://`` is committed in place by the S3A magic committer: not one object is copied.

On S3 a rename is a copy of every object, so the job's dataset must reach its URL without one. The proof is S3A's
own IOStatistics: ``object_copy_requests`` of the JVM's S3A filesystem, read in the same spark-submit process
right after ``JobContext.write`` (the driver and the local executor share that filesystem instance).
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import pyarrow.dataset as ds
import pytest

from lake.storage import Lake
from luigi_tasks.targets import DatasetTarget
from tests.spark_s3a.test_s3a_smoke import _submit_env

pytestmark = [pytest.mark.integration, pytest.mark.slow]

D = "2026-11-27"

# A job body on the real wiring (run_job parses the same arguments as every job and builds its session).
APP = textwrap.dedent(
    """
    import json, sys
    from jobs._common import run_job
    from lake.paths import for_spark

    def copies(ctx):
        jvm = ctx.spark._jvm
        path = jvm.org.apache.hadoop.fs.Path(for_spark(ctx.lake.url))
        fs = path.getFileSystem(ctx.spark.sparkContext._jsc.hadoopConfiguration())
        counters = fs.getIOStatistics().counters()
        return {k: int(counters.get(k) or 0) for k in ("object_copy_requests", "op_rename")}

    def body(ctx):
        rows = [(1, "alice@example.com"), (2, "bob@example.com"), (3, None)]
        df = ctx.spark.createDataFrame(rows, "ContactId long, EmailAddress string").repartition(2)
        url = ctx.lake.staged_contacts(ctx.run_date)
        ctx.write(df, url)  # a first dataset...
        before = copies(ctx)
        ctx.write(df.where("ContactId < 3"), url)  # ...replaced by the next run's
        after = copies(ctx)
        print("COUNTERS " + json.dumps({k: after[k] - before[k] for k in after}), flush=True)

    sys.exit(run_job("committer-probe", None, sys.argv[1:], body))
    """
)


def test_a_job_write_on_s3a_copies_no_object_and_the_committer_writes_success(
    seaweed, s3_lake: Lake, tmp_path: Path
) -> None:
    app = tmp_path / "committer_probe.py"
    app.write_text(APP)
    command = [str(Path(sys.executable).parent / "spark-submit"), "--master", "local[2]"]
    conf = {**s3_lake.spark_conf(), "spark.ui.enabled": "false", "spark.sql.shuffle.partitions": "2",
            "spark.driver.memory": "512m"}
    for key, value in conf.items():
        command += ["--conf", f"{key}={value}"]
    command += [str(app), "--date", D, "--lake", s3_lake.url]
    result = subprocess.run(command, env=_submit_env(seaweed), capture_output=True, text=True, timeout=300)
    failure = [line for line in result.stderr.splitlines() if " INFO " not in line and " WARN " not in line]
    assert result.returncode == 0, "\n".join(failure[-30:]) + result.stdout[-3000:]

    printed = [line for line in result.stdout.splitlines() if line.startswith("COUNTERS ")]
    assert json.loads(printed[-1][len("COUNTERS "):]) == {"object_copy_requests": 0, "op_rename": 0}
    url = s3_lake.layout.staged_contacts(D)
    assert json.loads(s3_lake.read_bytes(url + "/_SUCCESS"))["committer"] == "magic"
    assert DatasetTarget(s3_lake, url).exists()
    filesystem, path = s3_lake.fs_path(url)
    table = ds.dataset(path, filesystem=filesystem, format="parquet").to_table().sort_by("ContactId")
    assert table.to_pylist() == [{"ContactId": 1, "EmailAddress": "alice@example.com"},
                                 {"ContactId": 2, "EmailAddress": "bob@example.com"}]
    assert json.loads(s3_lake.read_bytes(url + "/_metrics.json")) == {"rows": 2}
    assert not [p for p in s3_lake.list_datasets(s3_lake.layout.staged_contacts_root(), complete_only=False)
                if p != url]  # nothing left beside the dataset
