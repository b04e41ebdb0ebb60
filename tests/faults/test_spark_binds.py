"""Finding 5 of issue 13 for a hand run: ``spark-submit jobs/<name>.py`` with no cluster and no properties file
binds its driver to 127.0.0.1 with the UI off (jobs/_common.build_session); a submitter's own setting wins."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = [pytest.mark.integration, pytest.mark.slow]

REPO = Path(__file__).resolve().parents[2]
# What a job does first: build its session the jobs' way, then report what the driver bound to.
PROBE = """
import json, sys
sys.path.insert(0, sys.argv[1])
from jobs._common import build_session
spark, _ = build_session("bind-probe")
conf = spark.sparkContext.getConf()
print(json.dumps({k: conf.get(k, None) for k in
                  ("spark.driver.host", "spark.driver.bindAddress", "spark.ui.enabled")}))
spark.stop()
"""


def hand_run(tmp_path: Path, *conf: str) -> dict[str, str]:
    probe = tmp_path / "probe.py"
    probe.write_text(PROBE)
    submit = str(Path(sys.executable).with_name("spark-submit"))
    env = {k: v for k, v in os.environ.items() if k not in ("SPARK_CONF_DIR", "PYSPARK_SUBMIT_ARGS")}
    env["SPARK_CONF_DIR"] = str(tmp_path)  # no spark-defaults.conf: what a bare hand run reads
    # as from an activated venv: spark-submit finds pyspark with the python on PATH
    env.update(PATH=f"{Path(sys.executable).parent}{os.pathsep}{env.get('PATH', '')}", PYSPARK_PYTHON=sys.executable)
    result = subprocess.run([submit, *conf, str(probe), str(REPO)], env=env, cwd=tmp_path, capture_output=True,
                            text=True, timeout=240)
    assert result.returncode == 0, result.stderr[-3000:]
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_a_hand_run_binds_to_loopback_with_no_ui(tmp_path: Path) -> None:
    assert hand_run(tmp_path) == {"spark.driver.host": "127.0.0.1", "spark.driver.bindAddress": "127.0.0.1",
                                  "spark.ui.enabled": "false"}


def test_the_submitters_settings_win(tmp_path: Path) -> None:
    seen = hand_run(tmp_path, "--conf", "spark.ui.enabled=true", "--conf", "spark.ui.port=0")
    assert seen["spark.ui.enabled"] == "true" and seen["spark.driver.bindAddress"] == "127.0.0.1"
