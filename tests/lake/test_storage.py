"""The lake's storage layer on a local folder and on SeaweedFS over real sockets (the same tests for both).

A dataset is invisible (its flag target incomplete) until it is whole; a failed write leaves the previous
dataset exactly as it was; publishing is idempotent; errors are one line naming the URL, never a secret.
"""

from __future__ import annotations

import socket
from pathlib import Path

import luigi
import pyarrow as pa
import pyarrow.dataset as ds
import pytest

from lake.errors import LakeError
from lake.paths import SUCCESS_FLAG
from lake.settings import ConfigError, S3Settings
from lake.storage import Lake, open_lake
from luigi_tasks.targets import DatasetTarget, FileTarget

D = "2026-11-27"


@pytest.fixture(params=["file", pytest.param("s3", marks=pytest.mark.integration)])
def lake(request: pytest.FixtureRequest, tmp_path: Path) -> Lake:
    if request.param == "s3":
        return request.getfixturevalue("s3_lake")
    return open_lake(f"file://{tmp_path}/lake")


def _write_parquet(lake: Lake, url: str, table: pa.Table, name: str = "part-{i}.parquet") -> None:
    filesystem, path = lake.fs_path(url)
    ds.write_dataset(
        table,
        path,
        filesystem=filesystem,
        format="parquet",
        basename_template=name,
        existing_data_behavior="overwrite_or_ignore",
    )


def _read_parquet(lake: Lake, url: str) -> list[dict]:
    filesystem, path = lake.fs_path(url)
    return ds.dataset(path, filesystem=filesystem, format="parquet").to_table().sort_by("id").to_pylist()


def _files(lake: Lake, url: str) -> list[str]:
    """Every file under ``url``, relative to it (folder markers left out)."""
    filesystem, path = lake.fs_path(url)
    infos = filesystem.get_file_info(pa.fs.FileSelector(path, recursive=True, allow_not_found=True))
    return sorted(i.path[len(path) + 1 :] for i in infos if i.type == pa.fs.FileType.File)


ROWS = [{"id": 1, "email": "a@example.com"}, {"id": 2, "email": None}, {"id": 3, "email": "c@example.com"}]
TABLE = pa.Table.from_pylist(ROWS, schema=pa.schema([("id", pa.int64()), ("email", pa.string())]))


def test_atomic_dataset_is_invisible_until_published_then_complete(lake: Lake) -> None:
    url = lake.layout.raw_contacts(D)
    target = DatasetTarget(lake, url)
    with lake.atomic_dataset(url) as staging:
        _write_parquet(lake, staging, TABLE)
        assert lake.exists(staging)
        assert not target.exists()
        assert not lake.exists(url)
    assert target.exists()
    assert target.url == url
    assert _read_parquet(lake, url) == ROWS
    assert _files(lake, url) == [SUCCESS_FLAG, "part-0.parquet"]
    assert not lake.exists(staging)


def test_a_failure_inside_leaves_no_dataset_no_flag_and_no_staging(lake: Lake) -> None:
    url = lake.layout.staged_contacts(D)
    with pytest.raises(RuntimeError, match="boom"), lake.atomic_dataset(url) as staging:
        _write_parquet(lake, staging, TABLE)
        raise RuntimeError("boom")
    assert not DatasetTarget(lake, url).exists()
    assert not lake.exists(url)
    assert not lake.exists(staging)


def test_a_failed_rewrite_leaves_the_previous_dataset_untouched(lake: Lake) -> None:
    url = lake.layout.import_ready("lead_scoring", D)
    with lake.atomic_dataset(url) as staging:
        _write_parquet(lake, staging, TABLE)
    with pytest.raises(KeyboardInterrupt), lake.atomic_dataset(url) as staging:
        _write_parquet(lake, staging, TABLE.slice(0, 1), name="other-{i}.parquet")
        raise KeyboardInterrupt
    assert DatasetTarget(lake, url).exists()
    assert _read_parquet(lake, url) == ROWS
    assert _files(lake, url) == [SUCCESS_FLAG, "part-0.parquet"]


def test_a_rewrite_replaces_every_old_file(lake: Lake) -> None:
    url = lake.layout.import_ready("lead_scoring", D)
    with lake.atomic_dataset(url) as staging:
        _write_parquet(lake, staging, TABLE, name="old-{i}.parquet")
    with lake.atomic_dataset(url) as staging:
        _write_parquet(lake, staging, TABLE.slice(2), name="new-{i}.parquet")
    assert _files(lake, url) == [SUCCESS_FLAG, "new-0.parquet"]
    assert _read_parquet(lake, url) == ROWS[2:]


def test_the_flag_target_is_incomplete_until_the_flag_exists(lake: Lake) -> None:
    url = lake.layout.raw_activities("EmailOpen", D)
    _write_parquet(lake, url, TABLE)  # written in place, as a killed non-atomic writer would leave it
    target = DatasetTarget(lake, url)
    assert lake.exists(url)
    assert not target.exists()
    assert not lake.is_complete(url)
    lake.write_bytes(lake.layout.success_flag(url), b"")
    assert target.exists()
    assert lake.is_complete(url)


def test_partitioned_staging_data_keeps_its_layout(lake: Lake) -> None:
    url = lake.layout.raw_activities_root() + "/batch"
    table = TABLE.append_column("kind", pa.array(["open", "click", "open"]))
    with lake.atomic_dataset(url) as staging:
        filesystem, path = lake.fs_path(staging)
        ds.write_dataset(
            table,
            path,
            filesystem=filesystem,
            format="parquet",
            partitioning=["kind"],
            partitioning_flavor="hive",
        )
    assert _files(lake, url) == [SUCCESS_FLAG, "kind=click/part-0.parquet", "kind=open/part-0.parquet"]


def test_a_resumed_staging_prefix_is_published_whole_and_publish_is_idempotent(lake: Lake) -> None:
    url = lake.layout.raw_contacts(D)
    staging = lake.new_staging_url(url)  # what a stage records in its state file before writing pages
    _write_parquet(lake, staging, TABLE.slice(0, 2), name="page-1-{i}.parquet")
    # ... the process is killed here; the rerun finds the staging URL in its state and writes the rest
    _write_parquet(lake, staging, TABLE.slice(2), name="page-2-{i}.parquet")
    assert not DatasetTarget(lake, url).exists()
    lake.publish(staging, url)
    lake.publish(staging, url)  # a rerun after a kill right after publishing
    assert _read_parquet(lake, url) == ROWS
    assert _files(lake, url) == [SUCCESS_FLAG, "page-1-0.parquet", "page-2-0.parquet"]


def test_a_writer_flag_in_the_staging_data_is_replaced_by_the_publish_flag(lake: Lake) -> None:
    url = lake.layout.staged_contacts(D)
    with lake.atomic_dataset(url) as staging:
        _write_parquet(lake, staging, TABLE)
        lake.write_bytes(staging + "/" + SUCCESS_FLAG, b'{"committer": "magic"}')  # what Spark leaves
    assert lake.read_bytes(lake.layout.success_flag(url)) == b""


@pytest.mark.integration
def test_s3_publish_killed_while_deleting_the_staging_prefix_is_finished_not_redone(s3_lake: Lake) -> None:
    url = s3_lake.layout.raw_contacts(D)
    staging = s3_lake.new_staging_url(url)
    _write_parquet(s3_lake, staging, TABLE)
    s3_lake.publish(staging, url)
    # The state a kill leaves after the copy and the flag: the published marker and part of the staging data.
    s3_lake.write_bytes(staging + "/_PUBLISHED", b"")
    s3_lake.write_bytes(staging + "/page-9.parquet", b"not parquet")
    s3_lake.publish(staging, url)
    assert _files(s3_lake, url) == [SUCCESS_FLAG, "part-0.parquet"]
    assert _read_parquet(s3_lake, url) == ROWS
    assert not s3_lake.exists(staging)


def test_json_state_round_trips_and_missing_files_are_reported(lake: Lake) -> None:
    url = lake.layout.state("extract", "contacts.json")
    assert lake.read_json(url, default=None) is None
    with pytest.raises(LakeError, match="does not exist"):
        lake.read_json(url)
    state = {"sync_uri": "/syncs/7", "pages": [0, 50000], "done": False}
    lake.write_json(url, state)
    lake.write_json(url, {**state, "done": True})
    assert lake.read_json(url) == {**state, "done": True}
    lake.write_bytes(url, b"{not json")
    with pytest.raises(LakeError, match="not valid JSON"):
        lake.read_json(url)


def test_file_target_writes_atomically_through_luigi(lake: Lake) -> None:
    target = FileTarget(lake, lake.layout.loaded_receipt("contact_washing", D))
    assert isinstance(target, luigi.Target)
    assert not target.exists()
    with target.open("w") as handle:
        handle.write('{"rows": 3}')
        assert not target.exists()
    assert target.exists()
    with target.open("r") as handle:
        assert handle.read() == '{"rows": 3}'
    assert lake.read_json(target.url) == {"rows": 3}


def test_list_datasets_lists_complete_datasets_only_and_never_staging(lake: Lake) -> None:
    root = lake.layout.staged_contacts_root()
    for day in ("2026-11-25", "2026-11-26"):
        with lake.atomic_dataset(lake.layout.staged_contacts(day)) as staging:
            _write_parquet(lake, staging, TABLE)
    _write_parquet(lake, lake.layout.staged_contacts("2026-11-27"), TABLE)  # no flag: incomplete
    _write_parquet(lake, lake.new_staging_url(lake.layout.staged_contacts("2026-11-28")), TABLE)  # abandoned
    complete = [lake.layout.staged_contacts(d) for d in ("2026-11-25", "2026-11-26")]
    assert lake.list_datasets(root) == complete
    assert lake.list_datasets(root, complete_only=False) == [
        *complete,
        lake.layout.staged_contacts("2026-11-27"),
    ]
    assert lake.list_datasets(lake.layout.join("nothing", "here")) == []


def test_delete_needs_recursive_for_folders(lake: Lake) -> None:
    url = lake.layout.rejects("lead_scoring", D)
    with lake.atomic_dataset(url) as staging:
        _write_parquet(lake, staging, TABLE)
    with pytest.raises(LakeError, match="recursive=True"):
        lake.delete(url)
    assert lake.delete(url, recursive=True)
    assert not lake.exists(url)
    assert not DatasetTarget(lake, url).exists()
    assert not lake.delete(url, recursive=True)
    with pytest.raises(LakeError, match="whole lake"):
        lake.delete(lake.url, recursive=True)


def test_urls_of_another_scheme_are_refused(lake: Lake) -> None:
    other = "file:///elsewhere/x" if lake.is_s3 else "s3://bucket/x"
    with pytest.raises(LakeError, match="is not on the lake"):
        lake.fs_path(other)


def test_check_passes_on_a_writable_lake_and_leaves_no_file(lake: Lake) -> None:
    lake.check()
    assert _files(lake, lake.url) == []


# ---------------------------------------------------------------- errors a person can act on
def test_an_unwritable_local_lake_fails_with_one_line_naming_it(tmp_path: Path) -> None:
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("")  # a file where the lake's folder should be: unwritable even for root
    lake = open_lake(f"file://{blocker}/lake")
    with pytest.raises(LakeError) as error:
        lake.check()
    message = str(error.value)
    assert message.startswith(f"cannot write to the lake file://{blocker}/lake: ")
    assert "\n" not in message
    with (
        pytest.raises(LakeError, match=f"file://{blocker}/lake/raw"),
        lake.atomic_dataset(lake.layout.raw_contacts(D)),
    ):
        pass


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_an_unreachable_s3_endpoint_fails_with_one_line_naming_lake_and_endpoint() -> None:
    endpoint = f"http://127.0.0.1:{_closed_port()}"
    settings = S3Settings(endpoint, access_key="AKIDEXAMPLE", secret_key="very-secret-value")
    lake = open_lake("s3://nowhere/lake", settings)
    with pytest.raises(LakeError) as error:
        lake.check()
    message = str(error.value)
    assert message.startswith("cannot write to the lake s3://nowhere/lake: ")
    assert endpoint in message
    assert "\n" not in message
    assert "very-secret-value" not in message


@pytest.mark.integration
def test_rejected_s3_credentials_fail_with_one_line_and_no_secret(seaweed) -> None:
    settings = S3Settings(
        seaweed.endpoint_url, access_key=seaweed.access_key, secret_key="wrong-secret-value"
    )
    lake = open_lake(seaweed.lake_url(), settings)
    with pytest.raises(LakeError) as error:
        lake.check()
    message = str(error.value)
    assert "refused" in message and "AWS_SECRET_ACCESS_KEY" in message
    assert "\n" not in message
    assert "wrong-secret-value" not in message and seaweed.secret_key not in message


# ---------------------------------------------------------------- settings
def test_settings_repr_never_shows_the_secret() -> None:
    settings = S3Settings(
        "http://127.0.0.1:8333", access_key="AKID", secret_key="s3cr3t", session_token="t0k3n"
    )
    assert "s3cr3t" not in repr(settings) and "t0k3n" not in repr(settings)
    lake = open_lake("s3://bucket/lake", settings)
    assert "s3cr3t" not in repr(lake)


def test_a_bad_endpoint_is_refused_with_what_to_set() -> None:
    with pytest.raises(ConfigError, match="not an http"):
        S3Settings("127.0.0.1:8333")


# ---------------------------------------------------------------- Spark settings
ENV_PROVIDER = "software.amazon.awssdk.auth.credentials.EnvironmentVariableCredentialsProvider"
SIMPLE_CREDENTIALS_PROVIDER = "org.apache.hadoop.fs.s3a.SimpleAWSCredentialsProvider"
S3A = "org.apache.hadoop.fs.s3a"
CLOUD = "org.apache.spark.internal.io.cloud"


def test_spark_conf_of_an_s3_lake_names_endpoint_style_provider_committer_and_jars(tmp_path: Path) -> None:
    jars = tmp_path / "jars"
    jars.mkdir()
    for name in ("hadoop-aws-3.4.2.jar", "s3-2.29.52.jar"):
        (jars / name).write_bytes(b"")
    settings = S3Settings("http://127.0.0.1:8333", access_key="AKID", secret_key="s3cr3t")
    conf = open_lake("s3://bucket/lake", settings).spark_conf(jars)
    assert conf == {
        "spark.jars": f"{jars}/hadoop-aws-3.4.2.jar,{jars}/s3-2.29.52.jar",
        "spark.hadoop.fs.s3a.endpoint": "http://127.0.0.1:8333",
        "spark.hadoop.fs.s3a.endpoint.region": "us-east-1",
        "spark.hadoop.fs.s3a.path.style.access": "true",
        "spark.hadoop.fs.s3a.connection.ssl.enabled": "false",
        "spark.hadoop.fs.s3a.aws.credentials.provider": f"{SIMPLE_CREDENTIALS_PROVIDER},{ENV_PROVIDER}",
        "spark.hadoop.fs.s3a.committer.name": "magic",
        "spark.hadoop.fs.s3a.committer.magic.enabled": "true",
        "spark.hadoop.mapreduce.outputcommitter.factory.scheme.s3a": f"{S3A}.commit.S3ACommitterFactory",
        "spark.sql.sources.commitProtocolClass": f"{CLOUD}.PathOutputCommitProtocol",
        "spark.sql.parquet.output.committer.class": f"{CLOUD}.BindingParquetOutputCommitter",
        # a store gone mid-write fails the job in about a minute (tests/faults/test_outages.py)
        "spark.hadoop.fs.s3a.attempts.maximum": "2",
        "spark.hadoop.fs.s3a.retry.limit": "2",
        "spark.hadoop.fs.s3a.connection.establish.timeout": "5s",
        "spark.hadoop.fs.s3a.connection.timeout": "60s",
    }
    assert "s3cr3t" not in repr(conf) and "AKID" not in repr(conf)


def test_spark_conf_of_a_local_lake_is_empty_and_missing_jars_say_make_jars(tmp_path: Path) -> None:
    assert open_lake(f"file://{tmp_path}").spark_conf() == {}
    settings = S3Settings("https://s3.example.test", access_key="AKID", secret_key="s3cr3t")
    with pytest.raises(LakeError, match="make jars"):
        open_lake("s3://bucket/lake", settings).spark_conf(tmp_path / "empty")
