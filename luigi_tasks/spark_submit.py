"""How a Spark task calls ``spark-submit``: :class:`SparkJobTask`, the base of every task in ``spark_tasks``.

Each task runs ``spark-submit <repo>/jobs/<job>.py --date D --lake URL [...]`` and is complete when the job's
dataset carries ``_SUCCESS`` (a :class:`luigi_tasks.targets.DatasetTarget`) and records the inputs it was built
from as they are now (:mod:`lake.lineage`).

Configuration, from the Luigi config (``conf/luigi/*.cfg``) and the environment:

* ``[spark]`` as read by ``luigi.contrib.spark.SparkSubmitTask``: ``master``, ``deploy_mode``, ``conf``
  (``k=v|k=v``), ``jars``, ``py_files``, ``packages``, ``driver_memory``, ``executor_memory``,
  ``total_executor_cores``, ... plus, here: ``spark_submit`` (default: the ``spark-submit`` next to this
  Python), ``properties_file`` (default: the project's ``conf/spark-defaults.conf``), ``pyspark_python``
  (default: this interpreter, so driver and executors import the same installed ``scc``) and
  ``ship_packages`` (``true``: also ship ``contract``/``lake``/``spark``/``jobs`` as a ``--py-files`` zip built at run
  time, for clusters whose Python does not have ``scc`` installed).
* the lake and its S3 endpoint through ``luigi_tasks.config`` (``--lake`` > ``$SCC_LAKE_URL`` > ``[lake] url``);
  the lake adds its S3A settings and jars (``Lake.spark_conf()``, :mod:`lake.spark`).

``python -m luigi_tasks.spark_submit --lake s3://bucket/prefix`` prints those settings as ``--conf`` arguments
for a hand-run ``spark-submit``.

``--conf`` precedence, later wins: the properties file < the lake's S3A settings < ``[spark] conf`` < the
task's tuning parameters. Credentials reach spark-submit only as ``AWS_*`` environment variables: never on the
command line, never as parameters, and they are masked in the error raised when spark-submit fails. Spark
copies the driver's ``AWS_*`` into its Hadoop configuration, which S3A's ``SimpleAWSCredentialsProvider``
(``TemporaryAWSCredentialsProvider`` with a session token) reads on executors that lack the variables.
"""

from __future__ import annotations

import datetime as dt
import functools
import importlib.util
import sys
import tempfile
import zipfile
from pathlib import Path
from typing import ClassVar

import luigi
from luigi import configuration
from luigi.contrib.external_program import ExternalProgramRunError
from luigi.contrib.spark import SparkSubmitTask

from contract.objects import PIPELINES
from jobs.night import GATE_PREFIX, gate_job
from lake.lineage import is_up_to_date
from lake.paths import LakeLayout
from lake.storage import Lake
from luigi_tasks import config as scc_config
from luigi_tasks.night_progress import followed_night
from luigi_tasks.redaction import RedactedFailure, redact, redact_mapping
from luigi_tasks.targets import DatasetTarget

REPO_ROOT = Path(__file__).resolve().parents[1]
DEFAULT_PROPERTIES_FILE = REPO_ROOT / "conf" / "spark-defaults.conf"
SHIPPED_PACKAGES = ("contract", "lake", "spark", "jobs")


# A task whose night includes a gate holds this resource (luigid's [resources] may allow more than 1).
DATA_DOCS_RESOURCE = "scc_data_docs"

# (pipeline, D) whose first load some GatePayload of this process approved. The approval is an insignificant
# parameter of GatePayload, yet its gate may run in a night an upstream task submits: that task reads it here.
# Luigi instantiates every task while scheduling, before any runs (forked workers inherit the set).
_APPROVED_FIRST_LOADS: set[tuple[str, dt.date]] = set()


def approve_first_load(pipeline: str, date: dt.date) -> None:
    """Let ``pipeline``'s first load of ``date`` through its gate, in whichever night the gate runs."""
    _APPROVED_FIRST_LOADS.add((pipeline, date))


def first_load_approved(pipeline: str, date: dt.date) -> bool:
    return (pipeline, date) in _APPROVED_FIRST_LOADS


def _spark_config(name: str, default: str | None = None) -> str | None:
    return configuration.get_config().get("spark", name, default)


@functools.lru_cache(maxsize=1)
def _packages_zip() -> str:
    """A zip of the project's Spark-side packages, built once per process, for ``--py-files``."""
    folder = Path(tempfile.mkdtemp(prefix="scc-pyfiles-"))
    target = folder / "scc_packages.zip"
    with zipfile.ZipFile(target, "w", zipfile.ZIP_DEFLATED) as zf:
        for package in SHIPPED_PACKAGES:
            spec = importlib.util.find_spec(package)
            if spec is None or not spec.submodule_search_locations:
                raise RuntimeError(f"package {package!r} is not importable: pip install -e . in this venv")
            root = Path(next(iter(spec.submodule_search_locations)))
            for path in sorted(root.rglob("*.py")):
                zf.write(path, Path(package) / path.relative_to(root))
    return str(target)


def _pyspark_home() -> str:
    spec = importlib.util.find_spec("pyspark")
    if spec is None or not spec.origin:
        raise RuntimeError("pyspark is not installed in this virtualenv: pip install -e .")
    return str(Path(spec.origin).parent)


class SparkJobTask(RedactedFailure, SparkSubmitTask):
    """Base of the Spark stage: submits ``jobs/<job>.py`` for one data day; subclasses set ``job``.

    Tuning parameters are insignificant (they do not change the task's identity or output); when unset, the
    ``[spark]`` section or the properties file decides.
    """

    job: ClassVar[str]

    date = luigi.DateParameter(description="the data day D")
    target_lake = scc_config.LakeParameter()  # in the identity: two lakes sharing a luigid are two tasks
    shuffle_partitions = luigi.OptionalIntParameter(
        default=None, significant=False, description="spark.sql.shuffle.partitions")
    executor_memory = luigi.OptionalParameter(
        default=None, significant=False, config_path={"section": "spark", "name": "executor_memory"},
        description="--executor-memory, e.g. 4g")
    driver_memory = luigi.OptionalParameter(
        default=None, significant=False, config_path={"section": "spark", "name": "driver_memory"},
        description="--driver-memory, e.g. 2g")
    total_executor_cores = luigi.OptionalParameter(
        default=None, significant=False, config_path={"section": "spark", "name": "total_executor_cores"},
        description="--total-executor-cores (standalone clusters)")

    # --- what runs

    # luigi declares these as plain attributes; ours derive from the parameters
    @property
    def name(self) -> str:  # type: ignore[override]
        # The same name the night driver gives its session (jobs._common.run_job): one name in both UIs.
        return f"scc night {self.date.isoformat()}"

    @property
    def app(self) -> str:  # type: ignore[override]
        """Absolute path of the night driver, ``jobs/night.py``, in the installed project: it runs this task's
        job (and the other jobs of :meth:`night_jobs`) in one Spark application."""
        spec = importlib.util.find_spec("jobs.night")
        if spec is None or not spec.origin:
            raise RuntimeError("jobs/night.py is not importable: pip install -e . in this virtualenv")
        return self._in_image(str(Path(spec.origin).resolve()))

    def _in_image(self, path: str) -> str:
        """``local://path`` for a file of the installed project when the driver is a pod of this same image
        (Kubernetes, deploy mode cluster), so spark-submit finds it there instead of uploading it through
        ``spark.kubernetes.file.upload.path`` on every submission (which also loads S3A into the submitting
        JVM, in the CronJob's pod); any other path, or any other master, as given."""
        on_kubernetes = (self.master or "").startswith("k8s://") and self.deploy_mode == "cluster"
        return f"local://{path}" if on_kubernetes and Path(path).is_relative_to(REPO_ROOT) else path

    @property
    def night_job(self) -> str:
        """This task's job as the night driver names it."""
        return self.job

    def night_jobs(self) -> list[str]:
        """The jobs this task's submission runs, its own included; the driver skips those up to date."""
        return [self.night_job]

    @property
    def resources(self) -> dict[str, int]:  # type: ignore[override]
        # The gates rebuild the Data Docs index from every run: one submission that gates at a time.
        return {DATA_DOCS_RESOURCE: 1} if any(j.startswith(GATE_PREFIX) for j in self.night_jobs()) else {}

    @property
    def lake(self) -> Lake:
        # Not cached: luigi reuses task instances per parameters, and the config may change between builds.
        return scc_config.lake_at(self.target_lake)

    @property
    def layout(self) -> LakeLayout:
        return self.lake.layout

    def app_options(self) -> list[str]:
        jobs = self.night_jobs()
        approved = [p for p in PIPELINES if gate_job(p) in jobs and first_load_approved(p, self.date)]
        return ["--date", self.date.isoformat(), "--lake", self.layout.url, "--jobs", ",".join(jobs),
                "--exit-for", self.night_job, *self.job_options(),
                *(flag for p in approved for flag in ("--approve-initial-load", p))]

    def job_options(self) -> list[str]:
        """Job-specific arguments of the night driver, after ``--exit-for``."""
        return []

    def output_url(self) -> str:
        raise NotImplementedError

    def output(self) -> luigi.Target:
        return DatasetTarget(self.lake, self.output_url())

    # --- up to date, not only present (lake.lineage)

    def input_urls(self) -> list[str] | None:
        """The datasets this job's output dataset is rebuilt from when they are republished (e.g. by a full
        refresh), or None: a task without them is complete as soon as its output exists."""
        return None

    def upstream(self) -> list[luigi.Task]:
        """The tasks producing :meth:`input_urls`: this task is complete only once they are."""
        return []

    def complete(self) -> bool:
        inputs = self.input_urls()
        if inputs is None:
            return bool(super().complete())
        # Checked through the upstream tasks so that, at scheduling time, a re-export still to come already
        # makes everything built from it incomplete (luigi never reruns a task it found complete).
        return all(task.complete() for task in self.upstream()) and is_up_to_date(
            self.lake, self.output_url(), inputs)

    # --- how spark-submit is called

    @property
    def spark_submit(self) -> str:
        configured = _spark_config("spark_submit")
        if configured:
            return configured
        beside = Path(sys.executable).parent / "spark-submit"
        return str(beside) if beside.exists() else "spark-submit"

    @property
    def properties_file(self) -> str | None:
        configured = _spark_config("properties_file")
        if configured:
            return configured
        return str(DEFAULT_PROPERTIES_FILE) if DEFAULT_PROPERTIES_FILE.exists() else None

    @property
    def pyspark_python(self) -> str:
        return _spark_config("pyspark_python") or sys.executable

    @property
    def pyspark_driver_python(self) -> str:
        return _spark_config("pyspark_driver_python") or self.pyspark_python

    def _lake_conf(self) -> dict[str, str]:
        return dict(self.lake.spark_conf())

    @property
    def conf(self) -> dict[str, str]:
        merged = {k: v for k, v in self._lake_conf().items() if k != "spark.jars"}
        merged.update(self._dict_config(_spark_config("conf")) or {})
        if self.shuffle_partitions is not None:
            merged["spark.sql.shuffle.partitions"] = str(self.shuffle_partitions)
        return merged

    @property
    def jars(self) -> list[str] | None:
        """The lake's jars (S3A) and ``[spark] jars``: one ``--jars`` list, so neither hides the other."""
        lake_jars = [self._in_image(j) for j in self._lake_conf().get("spark.jars", "").split(",") if j]
        configured = self._list_config(_spark_config("jars")) or []
        return [*lake_jars, *configured] or None

    @property
    def ship_packages(self) -> bool:
        value = _spark_config("ship_packages", "false") or "false"
        return value.strip().lower() in ("1", "true", "yes")

    @property
    def py_files(self) -> list[str] | None:
        configured = self._list_config(_spark_config("py_files")) or []
        if self.ship_packages:
            configured = [*configured, _packages_zip()]
        return configured or None

    def program_environment(self) -> dict[str, str]:
        env = super().program_environment()
        # Without it, pip-installed spark-submit asks whatever `python3` is first on PATH where pyspark lives.
        env.setdefault("SPARK_HOME", _pyspark_home())
        env.update(self.lake.credentials_env())
        env.update(getattr(self, "_night_progress_env", {}))  # set by _submit while the night runs
        return env

    def run(self) -> None:
        if self.complete():
            return  # published by the night an upstream task submitted
        # The driver records the inputs of each job it runs (jobs/night.py), in the order it runs them.
        self._submit()

    def _submit(self) -> None:
        self._night_progress_env: dict[str, str] = {}
        try:
            with followed_night(f"spark night {self.date.isoformat()} ({self.job})", self._night_progress_env):
                super().run()
        except ExternalProgramRunError as exc:
            # luigi's error text prints the whole environment; ours must not carry the S3 secret.
            # Redacted by value (luigi_tasks.redaction): a password inside DATABASE_URL or a webhook URL too.
            raise ExternalProgramRunError(
                redact(f"spark-submit of jobs/night.py for jobs/{self.job}.py of {self.date.isoformat()} failed "
                       f"({exc.message.strip().rstrip(':')}); its stderr is above"),
                [redact(a) for a in exc.args], env=redact_mapping(exc.env or {}),
                stdout=redact(exc.out or ""), stderr=redact(exc.err or ""),
            ) from None


def main(argv: list[str] | None = None) -> int:
    """Print the lake's Spark settings as ``--conf key=value`` arguments, for ``spark-submit`` by hand.

    spark-submit $(python -m luigi_tasks.spark_submit --lake s3://bucket/prefix) jobs/lead_scoring.py --date D ...

    The lake comes from ``--lake``, else ``$SCC_LAKE_URL`` / ``[lake] url``; the endpoint from
    ``$SCC_S3_ENDPOINT_URL`` / ``[s3]``. Credentials are never printed: export AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY.
    """
    import argparse
    import shlex

    from lake.errors import LakeError

    summary = (main.__doc__ or "").split("\n")[0]
    parser = argparse.ArgumentParser(prog="python -m luigi_tasks.spark_submit", description=summary)
    parser.add_argument("--lake", help="lake URL (default: $SCC_LAKE_URL or [lake] url)")
    args = parser.parse_args(argv)
    scc_config.pin_flags(lake=args.lake)
    try:
        conf = scc_config.configured_lake().spark_conf()
    except (LakeError, scc_config.ConfigError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    finally:
        scc_config.clear_flags()
    print(" ".join(f"--conf {shlex.quote(f'{k}={v}')}" for k, v in conf.items()))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
