"""OpenShift's restricted policy runs the image as an arbitrary UID with no passwd entry, in group 0. The
production entry point and a Spark job must work so: run through docker/entrypoint.sh, as such a UID."""

from __future__ import annotations

import datetime as dt
import os
import pwd
import shutil
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from tests.deploy.conftest import ProductionConf, ProductionInstall, production_env
from tests.fixtures.sandbox import SandboxHandle

pytestmark = [pytest.mark.slow, pytest.mark.integration]

# In the range OpenShift assigns to projects (1000000000 and up), far from any real account.
RANDOM_UID = 1000770000


def _nss_wrapper_installed() -> bool:
    return any(Path("/usr/lib").glob("*/libnss_wrapper.so"))


@pytest.fixture(scope="module")
def as_random_uid(production_install: ProductionInstall) -> Iterator[dict[str, object]]:
    """``subprocess`` keywords that run a command as RANDOM_UID in group 0, as OpenShift does."""
    if os.geteuid() != 0:
        pytest.skip("switching to another UID needs root")
    if not production_install.world_executable:
        pytest.skip("no Python of this version that another UID may run")
    with pytest.raises(KeyError):  # the point of the test: no passwd entry
        pwd.getpwuid(RANDOM_UID)
    if not _nss_wrapper_installed():
        # What the image installs (docker/Dockerfile); Debian's package, like PostgreSQL's in tests/fixtures.
        apt_env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
        subprocess.run(["apt-get", "update", "-q"], check=True, env=apt_env, stdout=subprocess.DEVNULL)
        subprocess.run(["apt-get", "install", "-y", "-q", "--no-install-recommends", "libnss-wrapper"],
                       check=True, env=apt_env, stdout=subprocess.DEVNULL)
    yield {"user": RANDOM_UID, "group": 0, "extra_groups": [0]}


@pytest.fixture
def pod_dir() -> Iterator[Path]:
    """A folder writable by group 0 only, like the pod's emptyDir volumes under OpenShift's policy."""
    folder = Path(tempfile.mkdtemp(prefix="scc-uid-"))
    os.chmod(folder, 0o770)
    yield folder
    shutil.rmtree(folder, ignore_errors=True)


def _run(install: ProductionInstall, argv: list[str], env: dict[str, str], cwd: Path,
         as_uid: dict[str, object]) -> subprocess.CompletedProcess[str]:
    # The image's ENTRYPOINT (after tini): every container command goes through it.
    return subprocess.run(["bash", str(install.entrypoint), *argv], env=env, cwd=cwd, capture_output=True,
                          text=True, timeout=600, **as_uid)  # type: ignore[call-overload]


def test_scc_help_runs_as_a_uid_without_passwd_entry(production_install: ProductionInstall,
                                                     production_conf: ProductionConf, as_random_uid,
                                                     pod_dir: Path) -> None:
    env = production_env(production_install, production_conf, HOME=str(pod_dir / "home"))
    result = _run(production_install, ["scc", "--help"], env, pod_dir, as_random_uid)
    assert result.returncode == 0, result.stderr
    assert "nightly" in result.stdout


def test_extract_and_a_spark_job_run_as_a_uid_without_passwd_entry(
        production_install: ProductionInstall, production_conf: ProductionConf, as_random_uid,
        pod_dir: Path, sandbox: SandboxHandle) -> None:
    day = (sandbox.as_of - dt.timedelta(days=1)).isoformat()
    lake = pod_dir / "lake"
    env = production_env(
        production_install, production_conf, HOME=str(pod_dir / "home"), SCC_LAKE_URL=f"file://{lake}",
        SCC_SCHEDULER_URL="http://127.0.0.1:9", SCC_S3_ENDPOINT_URL="http://127.0.0.1:9",
        SCC_SPARK_MASTER="local[1]", SCC_SPARK_DEPLOY_MODE="client", SCC_NAMESPACE="scc-test",
        ELOQUA_LOGIN_URL=sandbox.url, ELOQUA_SITE=sandbox.site, ELOQUA_USER=sandbox.user,
        ELOQUA_PASSWORD=sandbox.password,
    )
    extract = _run(production_install, ["scc", "extract", "--date", day, "--local-scheduler", "--workers", "1"],
                   env, pod_dir, as_random_uid)
    assert extract.returncode == 0, extract.stderr[-4000:]

    # The snapshot job as the Luigi task submits it on a standalone cluster: the mounted Kubernetes properties
    # file (Spark ignores its spark.kubernetes.* keys elsewhere), the job from the image's /opt/scc/jobs.
    submit = _run(production_install, [
        "spark-submit", "--master", "local[1]",
        "--properties-file", str(production_conf.conf_dir / "spark-kubernetes.conf"),
        "--conf", "spark.driver.memory=1g",
        str(production_install.home / "jobs" / "contacts_snapshot.py"), "--date", day, "--lake", f"file://{lake}",
    ], env, pod_dir, as_random_uid)
    assert submit.returncode == 0, submit.stderr[-4000:]

    raw = [p.parent for p in lake.glob("raw/contacts/**/_SUCCESS")]
    snapshot = [p.parent for p in lake.glob(f"staged/contacts/run_date={day}/_SUCCESS")]
    assert len(raw) == 1 and len(snapshot) == 1
    # The first night exports every contact once: the snapshot holds each of them, exactly once.
    assert pq.read_table(snapshot[0]).num_rows == pq.read_table(raw[0]).num_rows
    assert {p.stat().st_uid for p in snapshot[0].iterdir()} == {RANDOM_UID}
