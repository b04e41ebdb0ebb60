"""The lake's storage layer: one object maps a lake URL to filesystems, Luigi targets and Spark settings.

``Lake("file:///srv/lake")`` or ``Lake("s3://bucket/prefix", S3Settings(...))`` owns, for every stage:

* ``layout``: the zone paths (:class:`contract.lake.LakeLayout`); never build a lake path anywhere else;
* ``filesystem`` / ``fs_path(url)``: a pyarrow filesystem (local or S3) for Parquet I/O;
* ``flag_target(dataset_url)``: a dataset's Luigi output, complete only once ``<dataset>/_SUCCESS`` exists;
  ``file_target(url)``: a single file (receipts, state); ``read_json`` / ``write_json``: small state files;
* ``atomic_dataset(url)`` / ``publish(staging, url)``: datasets appear whole or not at all;
* ``spark_conf()``: the ``spark.hadoop.fs.s3a.*`` settings and jars that let Spark use the lake as ``s3a://``.

Credentials come from :class:`luigi_tasks.config.S3Settings` (the environment) and are never put into URLs,
targets, Spark conf, reprs or error messages. Every storage failure surfaces as :class:`LakeError`, one line
naming the URL and what to do.
"""

from __future__ import annotations

import contextlib
import functools
import json
import os
import shutil
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import luigi
import pyarrow.fs as pafs
from luigi.contrib.s3 import S3Client, S3FlagTarget, S3Target

from contract.lake import (
    SUCCESS_FLAG,
    LakeLayout,
    LakeUrlError,
    for_spark,
    local_path,
    normalize,
    staging_url,
)
from luigi_tasks.config import REPO_ROOT, ConfigError, S3Settings, lake_url

JARS_DIR = REPO_ROOT / "spark" / "jars" / "target" / "jars"
# Written into an S3 staging prefix once its copy is complete, so that a publish killed while deleting the
# staging prefix is finished, not redone from a half-deleted source.
PUBLISHED_MARKER = "_PUBLISHED"
ENV_CREDENTIALS_PROVIDER = "software.amazon.awssdk.auth.credentials.EnvironmentVariableCredentialsProvider"
SIMPLE_CREDENTIALS_PROVIDER = "org.apache.hadoop.fs.s3a.SimpleAWSCredentialsProvider"
TEMPORARY_CREDENTIALS_PROVIDER = "org.apache.hadoop.fs.s3a.TemporaryAWSCredentialsProvider"
CREDENTIALS_PROVIDER_KEY = "spark.hadoop.fs.s3a.aws.credentials.provider"
_MAX_COPY_OBJECT = 5 * 1024**3  # S3's limit for a single CopyObject; bigger objects go through multipart copy
_COPY_THREADS = 8


class LakeError(RuntimeError):
    """A lake that cannot be read or written. The message is one line naming the URL and what to do."""


class _LakeS3Client(S3Client):
    """luigi's S3Client on the lake's own boto3 resource.

    It ignores luigi.cfg: the stock client would pass every ``[s3]`` option to boto3 as a keyword argument.
    """

    def __init__(self, resource: Any) -> None:
        self._options: dict[str, Any] = {}
        self._s3 = resource


class S3DatasetTarget(S3FlagTarget):
    """A dataset under ``s3://``; exists once its ``_SUCCESS`` flag does. ``url``: the dataset's lake URL."""

    def __init__(self, url: str, client: S3Client) -> None:
        super().__init__(url + "/", client=client, flag=SUCCESS_FLAG)
        self.url = url


class LocalDatasetTarget(luigi.LocalTarget):
    """A dataset folder; exists once its ``_SUCCESS`` flag does. ``url`` is the dataset's lake URL."""

    def __init__(self, url: str) -> None:
        super().__init__(local_path(url))
        self.url = url

    def exists(self) -> bool:
        return os.path.isfile(os.path.join(self.path, SUCCESS_FLAG))


class S3FileTarget(S3Target):
    """One object under ``s3://``, written atomically by luigi on ``close()``. ``url`` is its lake URL."""

    def __init__(self, url: str, client: S3Client) -> None:
        super().__init__(url, client=client)
        self.url = url


class LocalFileTarget(luigi.LocalTarget):
    """One local file, written atomically by luigi on ``close()``. ``url`` is its lake URL."""

    def __init__(self, url: str) -> None:
        super().__init__(local_path(url))
        self.url = url


DatasetTarget = S3DatasetTarget | LocalDatasetTarget
FileTarget = S3FileTarget | LocalFileTarget


class Lake:
    """Storage for one lake URL (``file://`` or ``s3://``). Cheap to build; clients are made on first use."""

    def __init__(self, url: str, s3: S3Settings | None = None) -> None:
        try:
            self.layout = LakeLayout(url)
        except LakeUrlError as exc:
            raise LakeError(str(exc)) from None
        self.url = self.layout.url
        self.is_s3 = self.layout.is_s3
        if self.is_s3 and s3 is None:
            try:
                s3 = S3Settings.from_env_and_config()
            except ConfigError as exc:
                raise LakeError(str(exc)) from None
        self.s3 = s3

    @classmethod
    def from_config(cls, url: str | None = None) -> Lake:
        """The lake ``url``, else ``$SCC_LAKE_URL`` / ``[lake] url``; S3 settings from config and env."""
        return cls(url or lake_url())

    def __repr__(self) -> str:
        endpoint = f", endpoint={self.s3.endpoint_url!r}" if self.is_s3 and self.s3 else ""
        return f"Lake({self.url!r}{endpoint})"

    # ---------------------------------------------------------------- URLs and filesystems
    def _check_scheme(self, url: str) -> str:
        try:
            url = normalize(url)
        except LakeUrlError as exc:
            raise LakeError(str(exc)) from None
        if url.startswith("s3://") != self.is_s3:
            raise LakeError(f"{url} is not on the lake {self.url}: use the lake's layout to build paths")
        return url

    @staticmethod
    def spark_url(url: str) -> str:
        """The URL Spark uses for a lake URL (``s3a://`` for ``s3://``)."""
        return for_spark(url)

    @functools.cached_property
    def filesystem(self) -> pafs.FileSystem:
        """A pyarrow filesystem for this lake; paths on it come from :meth:`fs_path`."""
        if not self.is_s3:
            return pafs.LocalFileSystem()
        s = self._settings
        return pafs.S3FileSystem(
            access_key=s.access_key if s.has_credentials else None,
            secret_key=s.secret_key if s.has_credentials else None,
            session_token=s.session_token if s.has_credentials else None,
            region=s.region,
            endpoint_override=s.endpoint_host,
            scheme=s.scheme,
            force_virtual_addressing=not s.path_style,
            connect_timeout=5,
            request_timeout=60,
            retry_strategy=pafs.AwsStandardS3RetryStrategy(max_attempts=3),
            allow_bucket_creation=False,
            allow_bucket_deletion=False,
        )

    def fs_path(self, url: str) -> tuple[pafs.FileSystem, str]:
        """``(filesystem, path)`` for a URL on this lake: a local path, or ``bucket/key`` on S3."""
        url = self._check_scheme(url)
        if self.is_s3:
            return self.filesystem, url[len("s3://"):]
        return self.filesystem, local_path(url)

    @property
    def _settings(self) -> S3Settings:
        if self.s3 is None:
            raise LakeError(f"no S3 settings for the lake {self.url}: configure [s3] or SCC_S3_ENDPOINT_URL")
        return self.s3

    @functools.cached_property
    def _resource(self) -> Any:
        import boto3
        from botocore.config import Config

        s = self._settings
        config = Config(
            region_name=s.region,
            s3={"addressing_style": "path" if s.path_style else "virtual"},
            # Newer botocore adds CRC checksums to every request; S3-compatible stores may reject them.
            request_checksum_calculation="when_required",
            response_checksum_validation="when_required",
            connect_timeout=5,
            read_timeout=60,
            retries={"max_attempts": 3, "mode": "standard"},
        )
        credentials: dict[str, str] = {}
        if s.has_credentials:
            credentials = {
                "aws_access_key_id": s.access_key or "",
                "aws_secret_access_key": s.secret_key or "",
            }
            if s.session_token:
                credentials["aws_session_token"] = s.session_token
        session = boto3.session.Session()
        return session.resource("s3", endpoint_url=s.endpoint_url, config=config, **credentials)

    @property
    def _client(self) -> Any:
        return self._resource.meta.client

    @functools.cached_property
    def luigi_s3_client(self) -> S3Client:
        """luigi's S3Client for this lake's endpoint (for luigi.contrib.s3 APIs)."""
        return _LakeS3Client(self._resource)

    # ---------------------------------------------------------------- errors
    @contextlib.contextmanager
    def io_errors(self, url: str, action: str = "access") -> Iterator[None]:
        """Turn storage exceptions raised in the block into one-line :class:`LakeError`s naming ``url``."""
        try:
            yield
        except LakeError:
            raise
        except Exception as exc:
            message = self._describe(exc, url, action)
            if message is None:
                raise
            raise LakeError(message) from None

    def _describe(self, exc: Exception, url: str, action: str) -> str | None:
        import botocore.exceptions as bce

        endpoint = (self.s3.endpoint_url if self.s3 else None) or "AWS S3"
        if isinstance(exc, bce.EndpointConnectionError | bce.ConnectTimeoutError | bce.ConnectionClosedError):
            return (
                f"cannot {action} {url}: the S3 endpoint {endpoint} is unreachable; "
                "check SCC_S3_ENDPOINT_URL or [s3] endpoint_url and that the store is running"
            )
        if isinstance(exc, bce.NoCredentialsError | bce.PartialCredentialsError):
            return f"cannot {action} {url}: no S3 credentials; set AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY"
        if isinstance(exc, bce.ClientError):
            error = exc.response.get("Error", {})
            code = str(error.get("Code", "unknown"))
            if code in {"InvalidAccessKeyId", "SignatureDoesNotMatch", "AccessDenied", "403", "Forbidden"}:
                return (
                    f"cannot {action} {url}: {endpoint} refused the request ({code}); "
                    "check AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY and the bucket's permissions"
                )
            if code in {"NoSuchBucket"}:
                return f"cannot {action} {url}: no such bucket on {endpoint}; create it or fix the lake URL"
            detail = " ".join(str(error.get("Message", "")).split())
            suffix = f" ({detail})" if detail else ""
            return f"cannot {action} {url}: S3 error {code} from {endpoint}{suffix}"
        if isinstance(exc, bce.BotoCoreError):
            return f"cannot {action} {url} on {endpoint}: " + " ".join(str(exc).split())
        if isinstance(exc, PermissionError):
            return f"cannot {action} {url}: permission denied; make the folder writable or use another lake"
        if isinstance(exc, OSError):
            # pyarrow's S3 errors are OSErrors with a multi-line text; the first line says what failed.
            reason = exc.strerror or (str(exc).strip().splitlines() or [type(exc).__name__])[0]
            if self.is_s3 and ("connect" in reason.lower() or "curl" in reason.lower()):
                reason += f"; check that the S3 endpoint {endpoint} is running (SCC_S3_ENDPOINT_URL)"
            return f"cannot {action} {url}: {reason}"
        return None

    # ---------------------------------------------------------------- S3 helpers
    @staticmethod
    def _bucket_key(url: str) -> tuple[str, str]:
        rest = url[len("s3://"):]
        bucket, _, key = rest.partition("/")
        return bucket, key

    def _list_keys(self, url: str) -> list[dict[str, Any]]:
        """Every object strictly under ``url/`` (``Key`` and ``Size``)."""
        bucket, key = self._bucket_key(url)
        prefix = key + "/" if key else ""
        found: list[dict[str, Any]] = []
        for page in self._client.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix):
            found.extend({"Key": o["Key"], "Size": o["Size"]} for o in page.get("Contents", []))
        return found

    def _object_exists(self, bucket: str, key: str) -> bool:
        import botocore.exceptions as bce

        try:
            self._client.head_object(Bucket=bucket, Key=key)
        except bce.ClientError as exc:
            if str(exc.response.get("Error", {}).get("Code")) in {"404", "NoSuchKey", "NotFound"}:
                return False
            raise
        return True

    def _delete_keys(self, bucket: str, keys: list[str]) -> None:
        for start in range(0, len(keys), 1000):
            chunk = [{"Key": k} for k in keys[start : start + 1000]]
            response = self._client.delete_objects(Bucket=bucket, Delete={"Objects": chunk, "Quiet": True})
            if response.get("Errors"):
                first = response["Errors"][0]
                raise LakeError(
                    f"cannot delete s3://{bucket}/{first.get('Key')}: "
                    f"{first.get('Code')} {first.get('Message', '')}"
                )

    # ---------------------------------------------------------------- queries
    def exists(self, url: str) -> bool:
        """True when ``url`` is a file/object, or a folder/prefix holding anything."""
        url = self._check_scheme(url)
        with self.io_errors(url, "read"):
            if not self.is_s3:
                return os.path.exists(local_path(url))
            bucket, key = self._bucket_key(url)
            if key and self._object_exists(bucket, key):
                return True
            prefix = key + "/" if key else ""
            page = self._client.list_objects_v2(Bucket=bucket, Prefix=prefix, MaxKeys=1)
            return bool(page.get("KeyCount", len(page.get("Contents", []))))

    def is_complete(self, dataset_url: str) -> bool:
        """True once the dataset's ``_SUCCESS`` flag exists."""
        return self.exists(LakeLayout.success_flag(self._check_scheme(dataset_url)))

    def list_datasets(self, prefix_url: str, complete_only: bool = True) -> list[str]:
        """URLs of the folders directly under ``prefix_url`` (sorted), by default only complete datasets.

        Names starting with ``_`` or ``.`` (staging prefixes, flags) are never listed.
        """
        prefix_url = self._check_scheme(prefix_url)
        with self.io_errors(prefix_url, "list"):
            if self.is_s3:
                bucket, key = self._bucket_key(prefix_url)
                prefix = key + "/" if key else ""
                names: list[str] = []
                paginator = self._client.get_paginator("list_objects_v2")
                for page in paginator.paginate(Bucket=bucket, Prefix=prefix, Delimiter="/"):
                    common = page.get("CommonPrefixes", [])
                    names.extend(p["Prefix"][len(prefix):].rstrip("/") for p in common)
            else:
                base = local_path(prefix_url)
                if not os.path.isdir(base):
                    return []
                names = [e.name for e in os.scandir(base) if e.is_dir()]
        urls = [f"{prefix_url}/{n}" for n in sorted(set(names)) if n and not n.startswith(("_", "."))]
        return [u for u in urls if self.is_complete(u)] if complete_only else urls

    # ---------------------------------------------------------------- targets
    def flag_target(self, dataset_url: str) -> DatasetTarget:
        """The Luigi target of a dataset: exists only once ``<dataset>/_SUCCESS`` does. Use ``target.url``."""
        dataset_url = self._check_scheme(dataset_url)
        if self.is_s3:
            return S3DatasetTarget(dataset_url, self.luigi_s3_client)
        return LocalDatasetTarget(dataset_url)

    def file_target(self, url: str) -> FileTarget:
        """The Luigi target of one file (a receipt, a state JSON), written atomically. Use ``target.url``."""
        url = self._check_scheme(url)
        if self.is_s3:
            return S3FileTarget(url, self.luigi_s3_client)
        return LocalFileTarget(url)

    # ---------------------------------------------------------------- small files
    def write_bytes(self, url: str, data: bytes) -> None:
        """Write one file atomically (readers see the old content or the new, never a part)."""
        url = self._check_scheme(url)
        with self.io_errors(url, "write"):
            if self.is_s3:
                bucket, key = self._bucket_key(url)
                self._client.put_object(Bucket=bucket, Key=key, Body=data)
                return
            path = local_path(url)
            os.makedirs(os.path.dirname(path), exist_ok=True)
            tmp = f"{path}.tmp-{uuid.uuid4().hex}"
            try:
                with open(tmp, "wb") as handle:
                    handle.write(data)
                    handle.flush()
                    os.fsync(handle.fileno())
                os.replace(tmp, path)
            finally:
                if os.path.exists(tmp):
                    os.remove(tmp)

    def read_bytes(self, url: str) -> bytes:
        """The content of one file; :class:`LakeError` if it does not exist."""
        url = self._check_scheme(url)
        with self.io_errors(url, "read"):
            if self.is_s3:
                import botocore.exceptions as bce

                bucket, key = self._bucket_key(url)
                try:
                    return self._client.get_object(Bucket=bucket, Key=key)["Body"].read()
                except bce.ClientError as exc:
                    if str(exc.response.get("Error", {}).get("Code")) in {"404", "NoSuchKey", "NotFound"}:
                        raise LakeError(f"{url} does not exist") from None
                    raise
            try:
                return Path(local_path(url)).read_bytes()
            except FileNotFoundError:
                raise LakeError(f"{url} does not exist") from None

    def write_json(self, url: str, value: Any) -> None:
        """Write a small JSON document atomically (state files, receipts)."""
        self.write_bytes(url, (json.dumps(value, indent=2, sort_keys=True) + "\n").encode("utf-8"))

    _MISSING: Any = object()

    def read_json(self, url: str, default: Any = _MISSING) -> Any:
        """A JSON document; ``default`` when it does not exist (without a default: :class:`LakeError`)."""
        if default is not Lake._MISSING and not self.exists(url):
            return default
        data = self.read_bytes(url)
        try:
            return json.loads(data)
        except ValueError:
            raise LakeError(f"{url} is not valid JSON: delete it or restore it") from None

    def delete(self, url: str, recursive: bool = False) -> bool:
        """Delete a file, or a folder/prefix with ``recursive=True``. False when nothing was there."""
        url = self._check_scheme(url)
        if url == self.url and recursive:
            raise LakeError(f"refusing to delete the whole lake {url}")
        with self.io_errors(url, "delete"):
            if not self.is_s3:
                path = local_path(url)
                if os.path.isdir(path) and not os.path.islink(path):
                    if not recursive:
                        raise LakeError(f"{url} is a folder: delete it with recursive=True")
                    shutil.rmtree(path)
                    return True
                if os.path.lexists(path):
                    os.remove(path)
                    return True
                return False
            bucket, key = self._bucket_key(url)
            keys = [key] if key and self._object_exists(bucket, key) else []
            below = [o["Key"] for o in self._list_keys(url)]
            if below and not recursive:
                raise LakeError(f"{url} is a prefix with objects under it: delete it with recursive=True")
            # The flag goes first, so that a dataset killed half-deleted is not taken for complete.
            below.sort(key=lambda k: not k.endswith("/" + SUCCESS_FLAG))
            self._delete_keys(bucket, below + keys)
            return bool(keys or below)

    # ---------------------------------------------------------------- writability
    def check(self) -> None:
        """Fail fast with a one-line :class:`LakeError` naming the lake when it cannot be written."""
        probe = self.layout.state(f".probe-{uuid.uuid4().hex}")
        with self.io_errors(self.url, "write to the lake"):
            if self.is_s3:
                bucket, key = self._bucket_key(probe)
                self._client.put_object(Bucket=bucket, Key=key, Body=b"")
                self._client.delete_object(Bucket=bucket, Key=key)
            else:
                path = local_path(probe)
                os.makedirs(os.path.dirname(path), exist_ok=True)
                Path(path).write_bytes(b"")
                os.remove(path)

    # ---------------------------------------------------------------- atomic datasets
    def new_staging_url(self, url: str) -> str:
        """A fresh staging URL beside ``url`` (:func:`contract.lake.staging_url` with a random token).

        Stages that resume record it (in their state file) and finish with :meth:`publish`.
        """
        return staging_url(self._check_scheme(url), uuid.uuid4().hex[:12])

    @contextlib.contextmanager
    def atomic_dataset(self, url: str) -> Iterator[str]:
        """Yield a staging URL to write the dataset into; publish it to ``url`` with ``_SUCCESS`` on success.

        On an exception the final dataset is left exactly as it was and the staging data is removed.
        Locally the staging folder exists (empty) when the block starts: Spark needs ``mode("overwrite")``.
        """
        url = self._check_scheme(url)
        staging = self.new_staging_url(url)
        if not self.is_s3:
            with self.io_errors(url, "write"):
                os.makedirs(local_path(staging))
        try:
            yield staging
        except BaseException:
            with contextlib.suppress(Exception):
                self.delete(staging, recursive=True)
            raise
        self.publish(staging, url)

    def publish(self, staging_url: str, url: str) -> None:
        """Move a fully written staging dataset to ``url``, replacing what was there, ``_SUCCESS`` last.

        Idempotent: rerun after a kill at any point, it finishes the job without losing or mixing data.
        A ``_SUCCESS`` the writer left in the staging data (Spark's committers do) is replaced by ours.
        On S3 an empty staging prefix is an empty dataset (S3 has no folders to tell "empty" from "absent").
        """
        staging_url, url = self._check_scheme(staging_url), self._check_scheme(url)
        with self.io_errors(url, "publish"):
            if self.is_s3:
                self._publish_s3(staging_url, url)
            else:
                self._publish_local(staging_url, url)

    def _publish_local(self, staging_url: str, url: str) -> None:
        staging, final = local_path(staging_url), local_path(url)
        if not os.path.isdir(staging):
            if os.path.isfile(os.path.join(final, SUCCESS_FLAG)):
                return  # published by an earlier run that was killed after the rename
            raise LakeError(f"cannot publish {url}: staging folder {staging_url} is gone; rerun the stage")
        # The flag goes in before the rename: the rename shows the dataset whole, flag included, at once.
        Path(staging, SUCCESS_FLAG).write_bytes(b"")
        if os.path.lexists(final):
            with contextlib.suppress(FileNotFoundError):
                os.remove(os.path.join(final, SUCCESS_FLAG))
            shutil.rmtree(final) if os.path.isdir(final) else os.remove(final)
        os.makedirs(os.path.dirname(final), exist_ok=True)
        os.rename(staging, final)

    def _publish_s3(self, staging_url: str, url: str) -> None:
        s_bucket, s_key = self._bucket_key(staging_url)
        f_bucket, f_key = self._bucket_key(url)
        staged = self._list_keys(staging_url)
        marker = f"{s_key}/{PUBLISHED_MARKER}"
        flag = f"{f_key}/{SUCCESS_FLAG}"
        already = any(o["Key"] == marker for o in staged) or not staged
        if already and self._object_exists(f_bucket, flag):
            self._delete_keys(s_bucket, sorted((o["Key"] for o in staged), key=lambda k: k == marker))
            return
        # Hide the old dataset (flag first), then clear it, so that no stale file mixes with the new ones.
        old = [o["Key"] for o in self._list_keys(url)]
        if old:
            old.sort(key=lambda k: k != flag)
            self._delete_keys(f_bucket, old)
        skip = {f"{s_key}/{SUCCESS_FLAG}", marker}
        # Folder markers ("a/b/", written by pyarrow's create_dir) hold no data; SeaweedFS cannot copy them.
        moves = [o for o in staged if o["Key"] not in skip and not o["Key"].endswith("/")]
        markers = [o["Key"] for o in staged if o["Key"].endswith("/")]

        def copy(obj: dict[str, Any]) -> None:
            dest = f_key + obj["Key"][len(s_key):]
            source = {"Bucket": s_bucket, "Key": obj["Key"]}
            if obj["Size"] < _MAX_COPY_OBJECT:
                self._client.copy_object(Bucket=f_bucket, Key=dest, CopySource=source)
            else:
                self._client.copy(source, f_bucket, dest)

        with ThreadPoolExecutor(max_workers=_COPY_THREADS) as pool:
            list(pool.map(copy, moves))
        self._client.put_object(Bucket=f_bucket, Key=flag, Body=b"")
        self._client.put_object(Bucket=s_bucket, Key=marker, Body=b"")
        leftovers = [o["Key"] for o in moves] + [k for k in skip if k != marker]
        # deepest markers last, the published marker at the very end
        self._delete_keys(s_bucket, leftovers + sorted(markers, key=len, reverse=True) + [marker])

    # ---------------------------------------------------------------- Spark
    def spark_conf(self, jars_dir: str | os.PathLike[str] | None = None) -> dict[str, str]:
        """``--conf`` settings that let Spark read and write this lake; empty for a local lake.

        Credentials are not among them: they travel as ``AWS_*`` variables in spark-submit's environment, so
        secrets never appear on a command line or in the Spark UI. Executors on a cluster do not inherit that
        environment, but Spark copies the driver's ``AWS_*`` into the Hadoop configuration that ships with every
        job; the Simple/Temporary provider reads them there, the environment provider wherever they are set.
        """
        if not self.is_s3:
            return {}
        s = self._settings
        jars = self.s3a_jars(jars_dir)
        conf = {
            "spark.jars": ",".join(str(j) for j in jars),
            "spark.hadoop.fs.s3a.endpoint.region": s.region,
            "spark.hadoop.fs.s3a.path.style.access": "true" if s.path_style else "false",
            "spark.hadoop.fs.s3a.connection.ssl.enabled": "true" if s.scheme == "https" else "false",
            CREDENTIALS_PROVIDER_KEY: ",".join([
                TEMPORARY_CREDENTIALS_PROVIDER if s.session_token else SIMPLE_CREDENTIALS_PROVIDER,
                ENV_CREDENTIALS_PROVIDER,
            ]),
            # The magic committer writes task output to its final place as pending multipart uploads and
            # completes them at job commit: no copy-based renames on S3. It needs spark-hadoop-cloud (pom).
            "spark.hadoop.fs.s3a.committer.name": "magic",
            "spark.hadoop.fs.s3a.committer.magic.enabled": "true",
            "spark.hadoop.mapreduce.outputcommitter.factory.scheme.s3a":
                "org.apache.hadoop.fs.s3a.commit.S3ACommitterFactory",
            "spark.sql.sources.commitProtocolClass":
                "org.apache.spark.internal.io.cloud.PathOutputCommitProtocol",
            "spark.sql.parquet.output.committer.class":
                "org.apache.spark.internal.io.cloud.BindingParquetOutputCommitter",
        }
        if s.endpoint_url:
            conf["spark.hadoop.fs.s3a.endpoint"] = s.endpoint_url
        return conf

    @staticmethod
    def s3a_jars(jars_dir: str | os.PathLike[str] | None = None) -> list[Path]:
        """The jars ``make jars`` fetched (hadoop-aws, AWS SDK v2 modules, spark-hadoop-cloud), sorted."""
        folder = Path(jars_dir) if jars_dir else JARS_DIR
        jars = sorted(folder.glob("*.jar")) if folder.is_dir() else []
        if not any(j.name.startswith("hadoop-aws-") for j in jars):
            raise LakeError(f"no hadoop-aws jar under {folder}: run 'make jars' to fetch the S3A jars")
        return jars


def main(argv: list[str] | None = None) -> int:
    """Print the lake's Spark settings as ``--conf key=value`` arguments, for ``spark-submit`` by hand.

    spark-submit $(python -m luigi_tasks.lake --lake s3://bucket/prefix) jobs/lead_scoring.py --date D ...

    The lake comes from ``--lake``, else ``$SCC_LAKE_URL`` / ``[lake] url``; S3 settings from ``[s3]`` and
    ``$SCC_S3_ENDPOINT_URL``. Credentials are never printed: export AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY.
    """
    import argparse
    import shlex
    import sys

    summary = (main.__doc__ or "").split("\n")[0]
    parser = argparse.ArgumentParser(prog="python -m luigi_tasks.lake", description=summary)
    parser.add_argument("--lake", help="lake URL (default: $SCC_LAKE_URL or [lake] url)")
    args = parser.parse_args(argv)
    try:
        conf = Lake.from_config(args.lake).spark_conf()
    except LakeError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    print(" ".join(f"--conf {shlex.quote(f'{k}={v}')}" for k, v in conf.items()))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
