"""Spark reads and writes ``s3a://`` on SeaweedFS with just the jars and settings of ``Lake.spark_conf()``.

The session ``spark`` fixture cannot take S3A settings after it started, so this runs a tiny ``spark-submit``
subprocess, as a data engineer would: credentials only in its environment, everything else as ``--conf``.
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import pyarrow.dataset as ds
import pytest

from lake.paths import for_spark
from lake.storage import Lake
from luigi_tasks.targets import DatasetTarget

pytestmark = [pytest.mark.integration, pytest.mark.slow]

APP = textwrap.dedent(
    """
    import json, sys
    from pyspark.sql import SparkSession

    out, = sys.argv[1:]
    spark = SparkSession.builder.appName("s3a-smoke").getOrCreate()
    rows = [(1, "alice@example.com", 1.5), (2, "bob@example.com", None), (3, None, 3.25)]
    df = spark.createDataFrame(rows, "contact_id long, email string, score double").repartition(2)
    df.write.mode("overwrite").parquet(out)
    back = spark.read.parquet(out).orderBy("contact_id").collect()
    print("ROWS " + json.dumps([r.asDict() for r in back]))
    spark.stop()
    """
)

EXPECTED = [
    {"contact_id": 1, "email": "alice@example.com", "score": 1.5},
    {"contact_id": 2, "email": "bob@example.com", "score": None},
    {"contact_id": 3, "email": None, "score": 3.25},
]


def _spark_submit(lake: Lake, app: Path, out_url: str) -> list[str]:
    command = [str(Path(sys.executable).parent / "spark-submit"), "--master", "local[1]"]
    conf = {
        **lake.spark_conf(),
        "spark.ui.enabled": "false",
        "spark.sql.shuffle.partitions": "2",
        "spark.driver.memory": "512m",
    }
    for key, value in conf.items():
        command += ["--conf", f"{key}={value}"]
    return [*command, str(app), for_spark(out_url)]


def _submit_env(seaweed) -> dict[str, str]:
    """The credentials, plus what ``spark-submit`` needs to find this venv's pyspark and Python."""
    import os

    import pyspark

    env = seaweed.env()
    venv_bin = str(Path(sys.executable).parent)
    env["PATH"] = venv_bin + os.pathsep + env.get("PATH", "")
    env["SPARK_HOME"] = str(Path(pyspark.__file__).parent)
    env["PYSPARK_PYTHON"] = env["PYSPARK_DRIVER_PYTHON"] = sys.executable
    env["SPARK_LOCAL_IP"] = "127.0.0.1"
    return env


def test_spark_writes_and_reads_s3a_with_the_magic_committer(seaweed, s3_lake: Lake, tmp_path: Path) -> None:
    app = tmp_path / "s3a_smoke.py"
    app.write_text(APP)
    url = s3_lake.layout.staged_contacts("2024-03-01")
    target = DatasetTarget(s3_lake, url)

    with s3_lake.atomic_dataset(url) as staging:
        command = _spark_submit(s3_lake, app, staging)
        assert seaweed.secret_key not in " ".join(command)  # secrets reach S3A only through the environment
        env = _submit_env(seaweed)
        result = subprocess.run(command, env=env, capture_output=True, text=True, timeout=300)
        assert result.returncode == 0, result.stderr[-4000:]
        # S3A's committers leave a JSON _SUCCESS naming themselves; FileOutputCommitter leaves an empty one.
        success = json.loads(s3_lake.read_bytes(staging + "/_SUCCESS"))
        assert success["committer"] == "magic"
        assert not target.exists()

    printed = [line for line in result.stdout.splitlines() if line.startswith("ROWS ")]
    assert json.loads(printed[-1][len("ROWS "):]) == EXPECTED
    assert target.exists()
    filesystem, path = s3_lake.fs_path(url)
    table = ds.dataset(path, filesystem=filesystem, format="parquet").to_table().sort_by("contact_id")
    assert table.to_pylist() == EXPECTED
