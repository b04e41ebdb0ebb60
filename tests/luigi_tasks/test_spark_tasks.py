"""The Spark stage's Luigi tasks: the spark-submit command lines they build, their dependencies, and whole
jobs submitted through them to a real standalone cluster reading and writing ``s3a://`` on SeaweedFS."""

from __future__ import annotations

import configparser
import datetime as dt
import logging
import re
import sys
import zipfile
from collections.abc import Callable, Iterator
from pathlib import Path

import luigi
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from luigi.contrib.external_program import ExternalProgramRunError

from contract.objects import CONTACTS
from eloqua.export import arrow_schema
from lake import spark as lake_mod
from lake.storage import Lake, open_lake
from luigi_tasks import spark_tasks as st
from luigi_tasks.extract import ExtractActivityLookback, ExtractContacts, ExtractCustomObject

D = dt.date(2026, 11, 27)
SCORED = ("EmailOpen", "EmailClickthrough", "FormSubmit", "WebVisit")
GATES = "gate:contact_washing,gate:hard_bounces,gate:lead_scoring,gate:campaign_responses"
NIGHT_OF = {  # what each task's submission runs; the driver skips what is up to date
    "contacts_snapshot": f"contacts_snapshot,contact_washing,hard_bounces,lead_scoring,campaign_responses,{GATES}",
    **{job: f"{job},gate:{job}" for job in ("contact_washing", "hard_bounces", "lead_scoring", "campaign_responses")},
}
REPO = Path(__file__).resolve().parents[2]
ACCESS_KEY = "AKIA-spark-tasks-test"
SECRET_KEY = "secret-spark-tasks-" + "x" * 12


@pytest.fixture()
def luigi_cfg() -> Iterator[Callable[[str, str, str], None]]:
    """``set(section, option, value)`` in luigi's process-wide config for one test; restored afterwards."""
    parser = luigi.configuration.get_config()
    undo: list[tuple[str, str, str | None]] = []

    def set_option(section: str, option: str, value: str) -> None:
        if not parser.has_section(section):
            parser.add_section(section)
        old = (configparser.RawConfigParser.get(parser, section, option)
               if configparser.RawConfigParser.has_option(parser, section, option) else None)
        undo.append((section, option, old))
        configparser.RawConfigParser.set(parser, section, option, value)

    yield set_option
    for section, option, old in reversed(undo):
        if old is None:
            configparser.RawConfigParser.remove_option(parser, section, option)
        else:
            configparser.RawConfigParser.set(parser, section, option, old)


@pytest.fixture()
def file_lake(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Lake:
    url = "file://" + str(tmp_path / "lake")
    monkeypatch.setenv("SCC_LAKE_URL", url)
    return open_lake(url)


@pytest.fixture()
def s3_env(monkeypatch: pytest.MonkeyPatch) -> str:
    """An s3:// lake configured only through the environment, with credentials; no server is contacted."""
    url = "s3://scc-bucket/nightly"
    monkeypatch.setenv("SCC_LAKE_URL", url)
    monkeypatch.setenv("SCC_S3_ENDPOINT_URL", "http://127.0.0.1:9")
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", ACCESS_KEY)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", SECRET_KEY)
    monkeypatch.delenv("AWS_SESSION_TOKEN", raising=False)
    return url


def _options(args: list[str], flag: str) -> list[str]:
    return [args[i + 1] for i, a in enumerate(args[:-1]) if a == flag]


def _conf(args: list[str]) -> dict[str, str]:
    return dict(item.split("=", 1) for item in _options(args, "--conf"))


def _split(task: st.SparkJobTask) -> tuple[list[str], list[str]]:
    """spark-submit's own arguments and the app's, split at the app path."""
    args = [str(a) for a in task.program_args()]
    at = args.index(task.app)
    return args[:at], args[at + 1:]


# --- command lines


@pytest.mark.parametrize("cls", st.SPARK_TASKS, ids=lambda c: c.__name__)
def test_command_line_submits_the_job_file_with_date_and_lake(cls, file_lake, luigi_cfg):
    luigi_cfg("spark", "master", "spark://127.0.0.1:7077")
    luigi_cfg("spark", "deploy_mode", "client")
    task = cls(date=D)
    submit, app = _split(task)

    assert Path(submit[0]) == Path(sys.executable).parent / "spark-submit"
    assert task.app == str(REPO / "jobs" / "night.py")  # the night driver runs the job: one JVM for the night
    assert Path(task.app).is_file() and (REPO / "jobs" / f"{task.job}.py").is_file()
    night = NIGHT_OF[task.job]
    assert app == ["--date", "2026-11-27", "--lake", file_lake.url, "--jobs", night, "--exit-for", task.job]
    assert _options(submit, "--master") == ["spark://127.0.0.1:7077"]
    assert _options(submit, "--deploy-mode") == ["client"]
    assert _options(submit, "--name") == ["scc night 2026-11-27"]
    assert _options(submit, "--properties-file") == [str(REPO / "conf" / "spark-defaults.conf")]
    conf = _conf(submit)
    assert conf["spark.pyspark.python"] == sys.executable
    assert conf["spark.pyspark.driver.python"] == sys.executable
    assert not any(k.startswith("spark.hadoop.fs.s3a.") for k in conf)  # a local lake needs no S3A
    assert _options(submit, "--jars") == []


def test_full_refresh_reaches_the_snapshot_job_and_its_export(file_lake):
    config = luigi.configuration.get_config()
    config.set("nightly", "full_refresh", "true")
    try:
        _, app = _split(st.ContactsSnapshot(date=D))
        raw = st.ContactsSnapshot(date=D).requires()["raw"]
    finally:
        config.remove_option("nightly", "full_refresh")
    assert app[-1] == "--full-refresh" and app.count("--full-refresh") == 1
    assert raw[0] == ExtractContacts(date=D, full_refresh=True)


@pytest.mark.parametrize("cls", st.SPARK_TASKS, ids=lambda c: c.__name__)
def test_s3_command_line_carries_s3a_settings_but_no_credentials(cls, s3_env):
    task = cls(date=D)
    args = [str(a) for a in task.program_args()]
    submit, app = _split(task)

    conf = _conf(submit)
    assert conf["spark.hadoop.fs.s3a.endpoint"] == "http://127.0.0.1:9"
    assert conf["spark.hadoop.fs.s3a.path.style.access"] == "true"
    # executors get the keys from the Hadoop configuration Spark fills from the driver's AWS_* variables
    assert conf[lake_mod.CREDENTIALS_PROVIDER_KEY].split(",")[0] == lake_mod.SIMPLE_CREDENTIALS_PROVIDER
    assert "spark.jars" not in conf  # merged into --jars so that [spark] jars cannot hide the S3A jars
    (jars,) = _options(submit, "--jars")
    assert any(Path(j).name.startswith("hadoop-aws-") for j in jars.split(","))
    assert app[:4] == ["--date", "2026-11-27", "--lake", s3_env]
    for secret in (ACCESS_KEY, SECRET_KEY):
        assert not any(secret in a for a in args)
        assert secret not in repr(task) and secret not in str(task)
        assert secret not in repr(task.to_str_params())
    env = task.program_environment()
    assert env["AWS_ACCESS_KEY_ID"] == ACCESS_KEY
    assert env["AWS_SECRET_ACCESS_KEY"] == SECRET_KEY
    assert Path(env["SPARK_HOME"], "bin", "spark-class").is_file()


def test_session_credentials_are_read_with_their_token(s3_env, monkeypatch):
    monkeypatch.setenv("AWS_SESSION_TOKEN", "token-" + SECRET_KEY)
    task = st.HardBounces(date=D)
    args = [str(a) for a in task.program_args()]
    assert _conf(args)[lake_mod.CREDENTIALS_PROVIDER_KEY].split(",")[0] == lake_mod.TEMPORARY_CREDENTIALS_PROVIDER
    assert not any(SECRET_KEY in a for a in args)
    assert task.program_environment()["AWS_SESSION_TOKEN"] == "token-" + SECRET_KEY


def test_config_precedence_lake_then_spark_section_then_parameters(s3_env, luigi_cfg):
    luigi_cfg("spark", "conf", "spark.sql.shuffle.partitions=7|spark.hadoop.fs.s3a.path.style.access=false")
    luigi_cfg("spark", "executor_memory", "3g")
    luigi_cfg("spark", "jars", "/opt/extra/one.jar")

    by_config = st.LeadScoring(date=D)
    submit, _ = _split(by_config)
    assert _conf(submit)["spark.sql.shuffle.partitions"] == "7"
    assert _conf(submit)["spark.hadoop.fs.s3a.path.style.access"] == "false"
    assert _options(submit, "--executor-memory") == ["3g"]
    jars = _options(submit, "--jars")[0].split(",")
    assert jars[-1] == "/opt/extra/one.jar" and any("hadoop-aws-" in j for j in jars)

    by_parameter = st.LeadScoring(date=D, shuffle_partitions=3, executor_memory="5g", driver_memory="1g")
    submit, _ = _split(by_parameter)
    assert _conf(submit)["spark.sql.shuffle.partitions"] == "3"
    assert _options(submit, "--executor-memory") == ["5g"]
    assert _options(submit, "--driver-memory") == ["1g"]


def test_tuning_parameters_do_not_change_task_identity(file_lake):
    plain = st.HardBounces(date=D)
    tuned = st.HardBounces(date=D, shuffle_partitions=64, executor_memory="8g", total_executor_cores="4")
    assert plain.task_id == tuned.task_id
    assert set(tuned.to_str_params(only_significant=True)) == {"date", "target_lake"}
    assert st.HardBounces(date=D + dt.timedelta(days=1)).task_id != plain.task_id


def test_on_kubernetes_the_project_files_are_named_in_the_image_and_other_files_are_uploaded(s3_env, luigi_cfg):
    luigi_cfg("spark", "master", "k8s://https://kubernetes.default.svc")
    luigi_cfg("spark", "deploy_mode", "cluster")
    luigi_cfg("spark", "jars", "/srv/site/extra.jar")
    task = st.ContactWashing(date=D)
    submit, app = _split(task)

    assert task.app == "local://" + str(REPO / "jobs" / "night.py")  # the driver pod runs this same image
    jars = _options(submit, "--jars")[0].split(",")
    assert jars[-1] == "/srv/site/extra.jar"  # not in the project: spark-submit uploads it
    assert jars[:-1] and all(j.startswith(f"local://{REPO}/spark/jars/") for j in jars[:-1])
    assert any(Path(j.removeprefix("local://")).name.startswith("hadoop-aws-") for j in jars)
    assert app[:2] == ["--date", "2026-11-27"]


def test_properties_file_and_spark_submit_come_from_config(file_lake, luigi_cfg, tmp_path):
    props = tmp_path / "site.conf"
    props.write_text("spark.sql.shuffle.partitions 5\n")
    luigi_cfg("spark", "properties_file", str(props))
    luigi_cfg("spark", "spark_submit", "/opt/spark/bin/spark-submit")
    luigi_cfg("spark", "pyspark_python", "/opt/python/bin/python3")
    submit, _ = _split(st.ContactWashing(date=D))
    assert submit[0] == "/opt/spark/bin/spark-submit"
    assert _options(submit, "--properties-file") == [str(props)]
    assert _conf(submit)["spark.pyspark.python"] == "/opt/python/bin/python3"


def test_ship_packages_adds_a_zip_of_the_project_packages(file_lake, luigi_cfg):
    luigi_cfg("spark", "ship_packages", "true")
    luigi_cfg("spark", "py_files", "/opt/extra/lib.zip")
    submit, _ = _split(st.ContactWashing(date=D))
    (py_files,) = _options(submit, "--py-files")
    first, shipped = py_files.split(",")
    assert first == "/opt/extra/lib.zip"
    names = set(zipfile.ZipFile(shipped).namelist())
    assert {"lake/paths.py", "spark/washing.py", "jobs/_common.py", "jobs/contact_washing.py"} <= names
    assert not any(n.startswith("luigi_tasks/") for n in names)


def test_a_failed_submit_names_the_job_and_masks_credentials(s3_env, luigi_cfg):
    luigi_cfg("spark", "spark_submit", "false")  # /bin/false: a real program that fails
    task = st.ContactWashing(date=D)
    with pytest.raises(ExternalProgramRunError) as failure:
        task._submit()  # run() without the lineage bookkeeping, which needs a reachable lake
    text = str(failure.value)
    assert "jobs/contact_washing.py" in text and "2026-11-27" in text
    assert SECRET_KEY not in text and ACCESS_KEY not in text
    assert "AWS_SECRET_ACCESS_KEY='***'" in text
    assert SECRET_KEY not in repr(failure.value.env)


# --- dependencies and outputs


def test_pipelines_run_after_the_snapshot_of_the_same_day(file_lake):
    snapshot = st.ContactsSnapshot(date=D)
    for cls in (st.ContactWashing, st.HardBounces, st.LeadScoring, st.CampaignResponses):
        assert cls(date=D).requires()["snapshot"] == snapshot
    # the snapshot's submission runs the whole night, so it waits for the whole night's extract
    lookbacks = [ExtractActivityLookback(date=D, activity_type=t)
                 for t in ("Bounceback", "EmailOpen", "EmailClickthrough", "FormSubmit", "WebVisit")]
    objects = [ExtractCustomObject(object_name=n, date=D) for n in ("campaign_responses", "sfdc_campaigns")]
    raw = snapshot.requires()["raw"]
    assert raw[0] == ExtractContacts(date=D, full_refresh=False)
    assert sorted(map(str, raw[1:])) == sorted(map(str, [*lookbacks, *objects]))
    assert st.ContactWashing(date=D).requires()["raw"] == []


def test_raw_inputs_are_the_extract_tasks_of_the_days_each_job_reads(file_lake):
    assert st.HardBounces(date=D).requires()["raw"] == [ExtractActivityLookback(date=D, activity_type="Bounceback")]
    scoring = [ExtractActivityLookback(date=D, activity_type=t)
               for t in ("EmailOpen", "EmailClickthrough", "FormSubmit", "WebVisit")]
    assert sorted(st.LeadScoring(date=D).requires()["raw"], key=str) == sorted(scoring, key=str)
    responses = st.CampaignResponses(date=D).requires()["raw"]
    assert ExtractCustomObject(object_name="campaign_responses", date=D) in responses
    assert ExtractCustomObject(object_name="sfdc_campaigns", date=D) in responses
    assert set(scoring) <= set(responses)  # it recomputes the run's lead ratings


def test_outputs_are_dataset_targets_at_the_layout_paths(file_lake):
    expected = {
        st.ContactsSnapshot: file_lake.layout.staged_contacts(D),
        st.ContactWashing: file_lake.layout.import_ready("contact_washing", D),
        st.HardBounces: file_lake.layout.import_ready("hard_bounces", D),
        st.LeadScoring: file_lake.layout.import_ready("lead_scoring", D),
        st.CampaignResponses: file_lake.layout.import_ready("campaign_responses", D),
    }
    for cls, url in expected.items():
        target = cls(date=D).output()
        assert target.url == url
        folder = Path(url[len("file://"):])
        folder.mkdir(parents=True)
        (folder / "part-0.parquet").write_bytes(b"")
        assert not target.exists()  # data without _SUCCESS is a dataset still being written
        (folder / "_SUCCESS").write_bytes(b"")
        assert target.exists()


# --- whole jobs on a real cluster over s3a

_RAW_CONTACTS = [
    # ContactId, EmailAddress, Title, Country, StateProv, JobLevel, UpdatedAt
    ("101", "Ann@Example.com", "Intern", "Canada", "Ontario", None, "2026-11-01 08:00:00"),
    ("101", "Ann@Example.com", "CEO", "USA", "california", None, "2026-11-27 10:00:00"),
    ("102", "bob@example.org", None, "US", "CA", "Unknown", "2026-11-20 09:30:00"),
    ("103", "  ", "Director of Sales", "DE", None, None, "2026-11-27 11:00:00"),
    ("104", "dora@example.de", "Vice President Sales", "Deutschland", " Bavaria ", "VP",
     "2026-11-26 00:00:00"),
    # updated after D: not in D's snapshot
    ("105", "eve@example.com", "CTO", "US", "NY", None, "2026-11-28 00:00:00"),
    ("106", "fay@example.ca", "Software Engineer", "Narnia", "Ontario", None, "2026-11-27 23:59:59"),
]


def _raw_contacts_table() -> pa.Table:
    rows = []
    for contact_id, email, title, country, state, level, updated in _RAW_CONTACTS:
        row = dict.fromkeys(CONTACTS.column_names)
        stamp = dt.datetime.fromisoformat(updated).replace(tzinfo=dt.UTC)
        row.update(ContactId=contact_id, EmailAddress=email, FirstName="F" + contact_id, Title=title,
                   Country=country, StateProv=state, JobLevel=level, IsBounced=False, IsSubscribed=True,
                   CreatedAt=dt.datetime(2025, 1, 1, tzinfo=dt.UTC), UpdatedAt=stamp)
        rows.append(row)
    return pa.Table.from_pylist(rows, schema=arrow_schema(CONTACTS))


def _write_dataset(lake: Lake, url: str, table: pa.Table) -> None:
    fs, path = lake.fs_path(url)
    pq.write_table(table, f"{path}/part-0000000000.parquet", filesystem=fs)
    with fs.open_output_stream(f"{path}/_SUCCESS"):
        pass


def _publish_rest_of_the_night(lake: Lake) -> None:
    """Every other extract of the night as an export of zero rows (``_SUCCESS`` only): the snapshot's task
    waits for the whole night's extract, since its submission runs every job of the night."""
    from contract.calendar import lookback_days
    from contract.settings import load_settings

    days = lookback_days(D, load_settings().lead_scoring.lookback_days)
    urls = [lake.layout.raw_activities(t, d) for t in ("Bounceback", *SCORED) for d in days]
    urls += [lake.layout.raw_custom_object(n, D) for n in ("campaign_responses", "sfdc_campaigns")]
    for url in urls:
        fs, path = lake.fs_path(url)
        fs.create_dir(path, recursive=True)
        with fs.open_output_stream(f"{path}/_SUCCESS"):
            pass


def _read_rows(lake: Lake, url: str, columns: list[str]) -> list[tuple]:
    fs, path = lake.fs_path(url)
    table = pq.read_table(path, filesystem=fs, columns=columns)
    return sorted(tuple(r[c] for c in columns) for r in table.to_pylist())


@pytest.mark.integration
@pytest.mark.slow
def test_snapshot_and_washing_run_on_the_cluster_over_s3a(spark_cluster, seaweed, monkeypatch, luigi_cfg):
    lake = seaweed.lake()
    for name, value in seaweed.env({}).items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("SCC_LAKE_URL", lake.url)
    monkeypatch.setenv("SPARK_LOCAL_IP", "127.0.0.1")  # the driver too listens on loopback only
    luigi_cfg("spark", "master", spark_cluster.master_url)
    luigi_cfg("spark", "deploy_mode", "client")
    luigi_cfg("spark", "conf", "spark.executor.memory=512m|spark.sql.shuffle.partitions=2")
    _write_dataset(lake, lake.layout.raw_contacts(D), _raw_contacts_table())
    _publish_rest_of_the_night(lake)

    washing = st.ContactWashing(date=D, total_executor_cores="1")
    result = luigi.build([washing], local_scheduler=True, detailed_summary=True)

    assert result.status == luigi.LuigiStatusCode.SUCCESS, result.summary_text
    assert st.ContactsSnapshot(date=D).complete() and washing.complete()
    # one Spark application for both tasks: the snapshot's night published the payload, washing found it
    apps = [(app["name"], app["state"]) for app in spark_cluster.status()["completedapps"]]
    assert apps == [("scc night 2026-11-27", "FINISHED")]

    assert _read_rows(lake, lake.layout.staged_contacts(D), ["ContactId", "Title", "Country"]) == [
        ("101", "CEO", "USA"),
        ("102", None, "US"),
        ("103", "Director of Sales", "DE"),
        ("104", "Vice President Sales", "Deutschland"),
        ("106", "Software Engineer", "Narnia"),
    ]
    columns = ["EmailAddress", "Country", "StateProv", "JobLevel"]
    assert _read_rows(lake, lake.layout.import_ready("contact_washing", D), columns) == [
        ("Ann@Example.com", "US", "CA", "C-Level"),
        ("dora@example.de", "DE", "Bavaria", "VP"),
        ("fay@example.ca", "Narnia", "Ontario", "Individual Contributor"),
    ]


# --- a full refresh on a local lake


def _publish_raw_contacts(lake: Lake, table: pa.Table, sync_uri: str) -> None:
    """What ExtractContacts publishes for D: the rows, a full-export manifest naming its sync, ``_SUCCESS``."""
    url = lake.layout.raw_contacts(D)
    with lake.atomic_dataset(url) as staging:
        _write_dataset(lake, staging, table)
        lake.write_json(f"{staging}/_export.json", {
            "format": 1, "object": "contacts", "mode": "full", "window_column": "UpdatedAt", "since": None,
            "until": "2026-11-28 00:00:00", "base_snapshot": None, "rows": table.num_rows,
            "sync_uri": sync_uri, "exported_at": f"2026-11-28T0{sync_uri[-1]}:00:00Z"})


def _built_from(lake: Lake, url: str) -> dict:
    return lake.read_json(f"{url}/_inputs.json")


@pytest.mark.spark
@pytest.mark.slow
def test_a_full_refresh_rebuilds_the_snapshot_and_payload_and_a_plain_rerun_does_nothing(file_lake, luigi_cfg,
                                                                                          caplog):
    from lake.lineage import identity
    from luigi_tasks import config

    caplog.set_level(logging.INFO, logger="eloqua.progress")

    luigi_cfg("spark", "master", "local[1]")
    luigi_cfg("spark", "conf", "spark.sql.shuffle.partitions=2|spark.ui.enabled=false")
    raw, staged = file_lake.layout.raw_contacts(D), file_lake.layout.staged_contacts(D)
    payload = file_lake.layout.import_ready("contact_washing", D)
    _publish_raw_contacts(file_lake, _raw_contacts_table(), "/syncs/1")
    _publish_rest_of_the_night(file_lake)
    assert luigi.build([st.ContactWashing(date=D)], local_scheduler=True)
    assert _built_from(file_lake, staged)["inputs"] == {raw: "export /syncs/1 at 2026-11-28T01:00:00Z"}
    # the night's progress, followed while spark-submit ran: its jobs counted, each one done
    shown = [r.getMessage() for r in caplog.records if r.name == "eloqua.progress"]
    first = re.fullmatch(r"spark night 2026-11-27 \(contacts_snapshot\): running (\d+) jobs", shown[0])
    assert first and int(first.group(1)) >= 2, shown
    jobs = first.group(1)
    assert re.match(rf"spark night 2026-11-27 \(contacts_snapshot\): {jobs}/{jobs} jobs \(100%\)", shown[-1]), shown

    # The re-export of --full-refresh: the same day, every contact again, 102's country now spelled out.
    refreshed = _raw_contacts_table().to_pylist()
    for row in refreshed:
        if row["ContactId"] == "102":
            row["Country"] = "United States"
    _publish_raw_contacts(file_lake, pa.Table.from_pylist(refreshed, schema=arrow_schema(CONTACTS)), "/syncs/2")
    assert not st.ContactWashing(date=D).complete()  # at scheduling time already: built from the old export
    config.pin_flags(full_refresh=True)
    try:
        assert luigi.build([st.ContactWashing(date=D)], local_scheduler=True)
    finally:
        config.clear_flags()

    # raw, staged and payload agree: each was built from the other as it is now
    assert _built_from(file_lake, staged)["inputs"] == {raw: identity(file_lake, raw)}
    assert _built_from(file_lake, payload)["inputs"] == {staged: identity(file_lake, staged)}
    assert ("102", "United States") in _read_rows(file_lake, staged, ["ContactId", "Country"])
    assert _read_rows(file_lake, payload, ["EmailAddress", "Country", "StateProv", "JobLevel"]) == [
        ("Ann@Example.com", "US", "CA", "C-Level"),
        ("bob@example.org", "US", "CA", "Unknown"),
        ("dora@example.de", "DE", "Bavaria", "VP"),
        ("fay@example.ca", "Narnia", "Ontario", "Individual Contributor"),
    ]

    # a plain rerun finds everything up to date and rebuilds nothing
    records = (_built_from(file_lake, staged), _built_from(file_lake, payload))
    assert st.ContactWashing(date=D).complete()
    assert luigi.build([st.ContactWashing(date=D)], local_scheduler=True)
    assert (_built_from(file_lake, staged), _built_from(file_lake, payload)) == records
