"""The production install runs the production configuration: luigid from the image's virtualenv with the shipped
``luigi.cfg`` (as the ConfigMap mounts it), task history in a real PostgreSQL, Prometheus metrics, and one
extract run from the same virtualenv against the Eloqua sandbox."""

from __future__ import annotations

import datetime as dt
import re
import subprocess
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import requests

from tests.deploy.conftest import ProductionConf, ProductionInstall, production_env
from tests.fixtures.postgres import Postgres
from tests.fixtures.sandbox import SandboxHandle
from tests.support.procs import free_port, port_open, stop, wait_until

pytestmark = [pytest.mark.slow, pytest.mark.integration]

# ExtractActivityRange: the lookback's missing days (all 90 on an empty lake) as one ranged sync per type.
EXTRACT_FAMILIES = {"ExtractAll", "ExtractContacts", "ExtractActivityLookback", "ExtractActivityRange",
                    "ExtractCustomObject"}


@dataclass(frozen=True)
class ProductionScheduler:
    url: str
    env: dict[str, str]


def _test_env(install: ProductionInstall, conf: ProductionConf, postgres: Postgres, work: Path,
              scheduler_url: str) -> dict[str, str]:
    return production_env(
        install, conf,
        SCC_SCHEDULER_URL=scheduler_url,
        LUIGI_DB_HOST=postgres.host, LUIGI_DB_PORT=str(postgres.port), LUIGI_DB_NAME=postgres.database,
        LUIGI_DB_USER=postgres.user, LUIGI_DB_PASSWORD=postgres.password,
        SCC_LAKE_URL=f"file://{work}/lake", SCC_S3_ENDPOINT_URL="http://127.0.0.1:9",
        SCC_SPARK_MASTER="local[1]", SCC_SPARK_DEPLOY_MODE="client", SCC_NAMESPACE="scc-test",
        HOME=str(work / "home"),
    )


@pytest.fixture(scope="module")
def production_luigid(production_install: ProductionInstall, production_conf: ProductionConf,
                      postgres: Postgres) -> Iterator[ProductionScheduler]:
    work = Path(tempfile.mkdtemp(prefix="scc-luigid-"))
    port = free_port()
    env = _test_env(production_install, production_conf, postgres, work, f"http://127.0.0.1:{port}")
    log = (work / "luigid.log").open("wb")
    proc = subprocess.Popen(
        [str(production_install.bin / "luigid"), "--address", "127.0.0.1", "--port", str(port),
         "--state-path", str(work / "state.pickle"), "--logdir", str(work)],
        env=env, stdout=log, stderr=subprocess.STDOUT, cwd=work)
    try:
        wait_until(lambda: port_open(port), timeout=60, what="luigid (production config)", proc=proc)
        yield ProductionScheduler(f"http://127.0.0.1:{port}", env)
    finally:
        stop(proc)
        log.close()
        if proc.returncode not in (0, -15):
            print((work / "luigid.log").read_text()[-3000:])


@pytest.fixture(scope="module")
def extract_run(production_install: ProductionInstall, production_luigid: ProductionScheduler,
                sandbox: SandboxHandle) -> subprocess.CompletedProcess[str]:
    """``scc extract`` for the sandbox's last day, from the production virtualenv, through the production luigid."""
    env = {**production_luigid.env, "ELOQUA_LOGIN_URL": sandbox.url, "ELOQUA_SITE": sandbox.site,
           "ELOQUA_USER": sandbox.user, "ELOQUA_PASSWORD": sandbox.password}
    day = (sandbox.as_of - dt.timedelta(days=1)).isoformat()
    return subprocess.run([str(production_install.bin / "scc"), "extract", "--date", day, "--workers", "2"],
                          env=env, capture_output=True, text=True, timeout=600)


def test_the_production_install_runs_an_extract_through_the_production_luigid(extract_run) -> None:
    assert extract_run.returncode == 0, extract_run.stderr[-4000:]


def test_task_history_records_every_task_done_with_its_parameters_and_no_secret(
        extract_run, postgres: Postgres, sandbox: SandboxHandle) -> None:
    assert extract_run.returncode == 0, extract_run.stderr[-4000:]
    with postgres.connect() as db:
        tasks = db.execute("SELECT id, name FROM tasks").fetchall()
        last_events = dict(db.execute(
            "SELECT DISTINCT ON (task_id) task_id, event_name FROM task_events ORDER BY task_id, ts DESC, id DESC"
        ).fetchall())
        parameters = db.execute("SELECT task_id, name, value FROM task_parameters").fetchall()
    assert {name for _, name in tasks} == EXTRACT_FAMILIES
    assert {last_events[task_id] for task_id, _ in tasks} == {"DONE"}
    day = (sandbox.as_of - dt.timedelta(days=1)).isoformat()
    by_task: dict[int, dict[str, str]] = {}
    for task_id, name, value in parameters:
        by_task.setdefault(task_id, {})[name] = value
    names = dict(tasks)
    # Every task's significant parameters are recorded: the data day, or the range's last day.
    assert {params.get("date") or params["end"] for params in by_task.values()} == {day}
    assert {names[task_id] for task_id, params in by_task.items() if "end" in params} == {"ExtractActivityRange"}
    assert set(by_task) == set(names)
    secrets = {sandbox.password, sandbox.client_secret, postgres.password}
    for params in by_task.values():
        assert not any(re.search(r"password|secret|token|key", name, re.I) for name in params)
        assert not any(secret in (value or "") for secret in secrets for value in params.values())


def test_metrics_count_the_tasks_done_per_family(extract_run, production_luigid: ProductionScheduler,
                                                 postgres: Postgres) -> None:
    assert extract_run.returncode == 0, extract_run.stderr[-4000:]
    answer = requests.get(f"{production_luigid.url}/metrics", timeout=10)
    assert answer.status_code == 200
    assert answer.headers["Content-Type"].startswith("text/plain")
    done = {m["family"]: float(m["value"]) for m in re.finditer(
        r'^luigi_task_done_total\{family="(?P<family>\w+)"\} (?P<value>[0-9.e+]+)$', answer.text, re.M)}
    with postgres.connect() as db:
        recorded = dict(db.execute("SELECT name, count(*) FROM tasks GROUP BY name").fetchall())
    assert done == {name: float(count) for name, count in recorded.items()}
    assert "luigi_task_failed_total" in answer.text
