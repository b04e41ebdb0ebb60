"""The lake's filesystem: one interface, a local and an S3 implementation, atomic publication on both.

``open_lake("file:///srv/lake")`` or ``open_lake("s3://bucket/prefix", S3Settings(...))`` returns a
:class:`Lake` that owns, for every stage:

* ``layout``: the zone paths (:class:`lake.paths.LakeLayout`); never build a lake path anywhere else;
* ``filesystem`` / ``fs_path(url)``: the pyarrow filesystem (local or S3) every byte goes through;
* ``exists``, ``is_complete`` (``<dataset>/_SUCCESS``), ``list_datasets``, ``delete``;
* ``read_bytes`` / ``write_bytes`` / ``read_json`` / ``write_json``: small documents (manifests, resume
  state, receipts), each written atomically;
* ``atomic_dataset(url)`` / ``new_staging_url`` + ``publish(staging, url)``: datasets appear whole or not at
  all, ``_SUCCESS`` last;
* :func:`read_batches`: Parquet files read a batch at a time, never further ahead than the reader.

The two implementations differ only where the stores differ: how a file is written atomically, how a staged
dataset becomes the dataset (a rename locally; copies, then the flag, on S3) and how a failure is described.
Every storage failure surfaces as :class:`LakeError`, one line naming the URL and what to do, never a secret.
"""

from __future__ import annotations

import contextlib
import functools
import json
import os
import re
import threading
import uuid
from abc import ABC, abstractmethod
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from typing import Any, ClassVar, TypeVar

import pyarrow as pa
import pyarrow.fs as pafs
import pyarrow.parquet as pq

from lake.errors import LakeError
from lake.paths import SUCCESS_FLAG, LakeLayout, LakeUrlError, local_path, normalize, staging_url
from lake.settings import S3Settings
from lake.spark import s3a_conf

# Written into an S3 staging prefix once its copy is complete, so that a publish killed while deleting the
# staging prefix is finished, not redone from a half-deleted source.
PUBLISHED_MARKER = "_PUBLISHED"
_MAX_COPY_OBJECT = 5 * 1024**3  # S3's limit for a single CopyObject; bigger objects need a multipart copy
_THREADS = 8
_AWS_ERROR = re.compile(r"AWS Error ([A-Z_]+)(?: \(HTTP status (\d+)\))?")
T = TypeVar("T")
_REFUSED = {"ACCESS_DENIED", "INVALID_ACCESS_KEY_ID", "SIGNATURE_DOES_NOT_MATCH", "INVALID_SIGNATURE"}


class Lake(ABC):
    """Storage for one lake URL. Build it with :func:`open_lake`; cheap, clients are made on first use."""

    is_s3: ClassVar[bool]

    def __init__(self, url: str) -> None:
        try:
            self.layout = LakeLayout(url)
        except LakeUrlError as exc:
            raise LakeError(str(exc)) from None
        self.url = self.layout.url

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.url!r})"

    # ---------------------------------------------------------------- what each store provides
    @functools.cached_property
    @abstractmethod
    def filesystem(self) -> pafs.FileSystem:
        """The pyarrow filesystem of this lake; paths on it come from :meth:`fs_path`."""

    @abstractmethod
    def _path(self, url: str) -> str:
        """The filesystem path of a (checked) URL on this lake."""

    @abstractmethod
    def _write_atomically(self, path: str, data: bytes) -> None:
        """Write one file so that readers see the old content or the new, never a part."""

    @abstractmethod
    def _publish(self, staging: str, final: str) -> None:
        """Replace the dataset at path ``final`` by the staged one, ``_SUCCESS`` last; idempotent."""

    @abstractmethod
    def spark_conf(self, jars_dir: str | os.PathLike[str] | None = None) -> dict[str, str]:
        """``--conf`` settings that let Spark read and write this lake (:mod:`lake.spark`)."""

    def credentials_env(self) -> dict[str, str]:
        """The ``AWS_*`` variables a child process (spark-submit) needs to reach this lake."""
        return {}

    def _prepare_staging(self, staging: str) -> None:
        """Called before a writer fills a staging folder (a no-op where folders need not exist)."""
        return None

    def _describe(self, exc: Exception, url: str, action: str) -> str | None:
        """One line for a storage exception, or None to let it through."""
        if isinstance(exc, PermissionError):
            return f"cannot {action} {url}: permission denied; make the folder writable or use another lake"
        if isinstance(exc, OSError):
            reason = exc.strerror or (str(exc).strip().splitlines() or [type(exc).__name__])[0]
            return f"cannot {action} {url}: {reason}"
        return None

    # ---------------------------------------------------------------- URLs and errors
    def check_url(self, url: str) -> str:
        """``url`` normalised; :class:`LakeError` when it is not on this lake."""
        try:
            url = normalize(url)
        except LakeUrlError as exc:
            raise LakeError(str(exc)) from None
        if url.startswith("s3://") != self.is_s3:
            raise LakeError(f"{url} is not on the lake {self.url}: use the lake's layout to build paths")
        return url

    def fs_path(self, url: str) -> tuple[pafs.FileSystem, str]:
        """``(filesystem, path)`` for a URL on this lake: a local path, or ``bucket/key`` on S3."""
        return self.filesystem, self._path(self.check_url(url))

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

    def _info(self, url: str) -> pafs.FileInfo:
        return self.filesystem.get_file_info(self._path(url))

    # ---------------------------------------------------------------- queries
    def exists(self, url: str) -> bool:
        """True when ``url`` is a file/object, or a folder/prefix holding anything."""
        url = self.check_url(url)
        with self.io_errors(url, "read"):
            return bool(self._info(url).type != pafs.FileType.NotFound)

    def is_complete(self, dataset_url: str) -> bool:
        """True once the dataset's ``_SUCCESS`` flag exists."""
        flag = LakeLayout.success_flag(self.check_url(dataset_url))
        with self.io_errors(flag, "read"):
            return bool(self._info(flag).type == pafs.FileType.File)

    def list_datasets(self, prefix_url: str, complete_only: bool = True) -> list[str]:
        """URLs of the folders directly under ``prefix_url`` (sorted), by default only complete datasets.

        Names starting with ``_`` or ``.`` (staging folders, flags) are never listed.
        """
        prefix_url = self.check_url(prefix_url)
        with self.io_errors(prefix_url, "list"):
            selector = pafs.FileSelector(self._path(prefix_url), allow_not_found=True, recursive=False)
            names = {i.base_name for i in self.filesystem.get_file_info(selector)
                     if i.type == pafs.FileType.Directory}
        urls = [f"{prefix_url}/{n}" for n in sorted(names) if n and not n.startswith(("_", "."))]
        return [u for u in urls if self.is_complete(u)] if complete_only else urls

    # ---------------------------------------------------------------- small documents
    def write_bytes(self, url: str, data: bytes) -> None:
        """Write one file atomically (readers see the old content or the new, never a part)."""
        url = self.check_url(url)
        with self.io_errors(url, "write"):
            self._write_atomically(self._path(url), data)

    def read_bytes(self, url: str) -> bytes:
        """The content of one file; :class:`LakeError` if it does not exist."""
        url = self.check_url(url)
        with self.io_errors(url, "read"):
            if self._info(url).type != pafs.FileType.File:
                raise LakeError(f"{url} does not exist")
            with self.filesystem.open_input_stream(self._path(url)) as handle:
                return bytes(handle.read())

    def write_json(self, url: str, value: Any) -> None:
        """Write a small JSON document atomically (manifests, resume state, receipts)."""
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
        url = self.check_url(url)
        if url == self.url and recursive:
            raise LakeError(f"refusing to delete the whole lake {url}")
        with self.io_errors(url, "delete"):
            kind = self._info(url).type
            if kind == pafs.FileType.NotFound:
                return False
            if kind != pafs.FileType.Directory:
                self.filesystem.delete_file(self._path(url))
                return True
            if not recursive:
                raise LakeError(f"{url} is a folder: delete it with recursive=True")
            # The flag goes first, so that a dataset killed half-deleted is not taken for complete.
            flag = LakeLayout.success_flag(url)
            if self._info(flag).type == pafs.FileType.File:
                self.filesystem.delete_file(self._path(flag))
            self.filesystem.delete_dir(self._path(url))
            return True

    def check(self) -> None:
        """Fail fast with a one-line :class:`LakeError` naming the lake when it cannot be written."""
        probe = self.layout.state(f".probe-{uuid.uuid4().hex}")
        with self.io_errors(self.url, "write to the lake"):
            self._write_atomically(self._path(probe), b"")
            self.filesystem.delete_file(self._path(probe))

    # ---------------------------------------------------------------- atomic datasets
    def new_staging_url(self, url: str, token: str | None = None) -> str:
        """A fresh staging URL beside ``url`` (:func:`lake.paths.staging_url`, random unless ``token``).

        Stages that resume record it (in their state file) and finish with :meth:`publish`.
        """
        return staging_url(self.check_url(url), token or uuid.uuid4().hex[:12])

    @contextlib.contextmanager
    def atomic_dataset(self, url: str) -> Iterator[str]:
        """Yield a staging URL to write the dataset into; publish it to ``url`` with ``_SUCCESS`` on success.

        On an exception the final dataset is left exactly as it was and the staging data is removed.
        """
        url = self.check_url(url)
        staging = self.new_staging_url(url)
        with self.io_errors(url, "write"):
            self._prepare_staging(self._path(staging))
        try:
            yield staging
        except BaseException:
            with contextlib.suppress(Exception):
                self.delete(staging, recursive=True)
            raise
        self.publish(staging, url)

    def publish(self, staging_url: str, url: str) -> None:
        """Make a fully written staging dataset the dataset at ``url``, replacing it, ``_SUCCESS`` last.

        Idempotent: rerun after a kill at any point, it finishes the job without losing or mixing data.
        A ``_SUCCESS`` the writer left in the staging data (Spark's committers do) is replaced by ours.
        """
        staging_url, url = self.check_url(staging_url), self.check_url(url)
        with self.io_errors(url, "publish"):
            self._publish(self._path(staging_url), self._path(url))


class LocalLake(Lake):
    """A lake in a local folder (``file://``): atomic renames."""

    is_s3 = False

    @functools.cached_property
    def filesystem(self) -> pafs.FileSystem:
        return pafs.LocalFileSystem()

    def _path(self, url: str) -> str:
        if not url.startswith("file://"):
            raise LakeError(f"{url} is not on the lake {self.url}: use the lake's layout to build paths")
        return local_path(url)

    def _write_atomically(self, path: str, data: bytes) -> None:
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

    def spark_conf(self, jars_dir: str | os.PathLike[str] | None = None) -> dict[str, str]:
        return {}  # Spark reads and writes file:// out of the box

    def _prepare_staging(self, staging: str) -> None:
        os.makedirs(staging)  # Spark's mode("overwrite") and pyarrow both need the folder to exist

    def _publish(self, staging: str, final: str) -> None:
        if not os.path.isdir(staging):
            if os.path.isfile(os.path.join(final, SUCCESS_FLAG)):
                return  # published by an earlier run that was killed after the rename
            raise LakeError(f"cannot publish file://{final}: staging folder file://{staging} is gone; "
                            "rerun the stage")
        # The flag goes in before the rename: the rename shows the dataset whole, flag included, at once.
        self._write_atomically(os.path.join(staging, SUCCESS_FLAG), b"")
        if os.path.lexists(final):
            with contextlib.suppress(FileNotFoundError):
                os.remove(os.path.join(final, SUCCESS_FLAG))
            self.filesystem.delete_dir(final) if os.path.isdir(final) else os.remove(final)
        os.makedirs(os.path.dirname(final), exist_ok=True)
        os.rename(staging, final)


class S3Lake(Lake):
    """A lake under ``s3://bucket/prefix`` on any S3-compatible store: server-side copies, then the flag."""

    is_s3 = True

    def __init__(self, url: str, s3: S3Settings) -> None:
        super().__init__(url)
        self.s3 = s3

    def __repr__(self) -> str:
        return f"S3Lake({self.url!r}, endpoint={self.s3.endpoint_url!r})"

    @functools.cached_property
    def filesystem(self) -> pafs.FileSystem:
        s = self.s3
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

    def _path(self, url: str) -> str:
        if not url.startswith("s3://"):
            raise LakeError(f"{url} is not on the lake {self.url}: use the lake's layout to build paths")
        return url[len("s3://"):]

    def spark_conf(self, jars_dir: str | os.PathLike[str] | None = None) -> dict[str, str]:
        return s3a_conf(self.s3, jars_dir)

    def credentials_env(self) -> dict[str, str]:
        return self.s3.credentials_env()

    def _write_atomically(self, path: str, data: bytes) -> None:
        # An object appears only when its upload completes: readers never see a part of it.
        with self.filesystem.open_output_stream(path) as handle:
            handle.write(data)

    def _files(self, path: str) -> list[pafs.FileInfo]:
        selector = pafs.FileSelector(path, allow_not_found=True, recursive=True)
        return [i for i in self.filesystem.get_file_info(selector) if i.type == pafs.FileType.File]

    def _publish(self, staging: str, final: str) -> None:
        fs = self.filesystem
        staged = self._files(staging)
        marker, flag = f"{staging}/{PUBLISHED_MARKER}", f"{final}/{SUCCESS_FLAG}"
        already = any(i.path == marker for i in staged) or not staged
        if already and fs.get_file_info(flag).type == pafs.FileType.File:
            self._delete_staging(staging, [i.path for i in staged if i.path != marker])
            return
        # Hide the old dataset (flag first), then clear it, so that no stale file mixes with the new ones.
        if fs.get_file_info(final).type == pafs.FileType.Directory:
            if fs.get_file_info(flag).type == pafs.FileType.File:
                fs.delete_file(flag)
            fs.delete_dir(final)
        moves = [i for i in staged if i.path not in (marker, f"{staging}/{SUCCESS_FLAG}")]

        def copy(info: pafs.FileInfo) -> None:
            destination = final + info.path[len(staging):]
            if (info.size or 0) < _MAX_COPY_OBJECT:
                fs.copy_file(info.path, destination)
            else:
                self._multipart_copy(info.path, destination)

        with ThreadPoolExecutor(max_workers=_THREADS) as pool:
            list(pool.map(copy, moves))
        self._write_atomically(flag, b"")
        self._write_atomically(marker, b"")
        self._delete_staging(staging, [i.path for i in staged])

    def _delete_staging(self, staging: str, paths: list[str]) -> None:
        """Delete the staged files, the published marker last (a kill in between leaves it, see above)."""
        with ThreadPoolExecutor(max_workers=_THREADS) as pool:
            list(pool.map(self.filesystem.delete_file, paths))
        if self.filesystem.get_file_info(staging).type != pafs.FileType.NotFound:
            self.filesystem.delete_dir(staging)  # the marker and any folder markers left

    def _multipart_copy(self, source: str, destination: str) -> None:
        # pyarrow.fs copies with one CopyObject, which S3 refuses above 5 GiB; boto3 splits the copy.
        import boto3
        from botocore.config import Config

        s = self.s3
        client = boto3.session.Session().client(
            "s3", endpoint_url=s.endpoint_url, aws_access_key_id=s.access_key, aws_secret_access_key=s.secret_key,
            aws_session_token=s.session_token,
            config=Config(region_name=s.region, s3={"addressing_style": "path" if s.path_style else "virtual"},
                          # one part copy answers in seconds; a store that stopped answering must fail, not hang
                          connect_timeout=5, read_timeout=120, retries={"max_attempts": 3, "mode": "standard"},
                          request_checksum_calculation="when_required",
                          response_checksum_validation="when_required"))
        s_bucket, _, s_key = source.partition("/")
        d_bucket, _, d_key = destination.partition("/")
        client.copy({"Bucket": s_bucket, "Key": s_key}, d_bucket, d_key)

    def _describe(self, exc: Exception, url: str, action: str) -> str | None:
        if not isinstance(exc, OSError):
            return None
        endpoint = self.s3.endpoint_url or "AWS S3"
        text = " ".join(str(exc).split())
        match = _AWS_ERROR.search(text)
        code, status = (match.group(1), match.group(2)) if match else ("", None)
        if code in {"NETWORK_CONNECTION", "REQUEST_TIMEOUT"} or "curl" in text.lower():
            return (f"cannot {action} {url}: the S3 endpoint {endpoint} is unreachable; check "
                    "SCC_S3_ENDPOINT_URL or [s3] endpoint_url and that the store is running")
        if code in _REFUSED or status == "403":
            return (f"cannot {action} {url}: {endpoint} refused the request ({code or status}); check "
                    "AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY and the bucket's permissions")
        if code == "NO_SUCH_BUCKET":
            return f"cannot {action} {url}: no such bucket on {endpoint}; create it or fix the lake URL"
        if code == "MISSING_AUTHENTICATION_TOKEN":
            return f"cannot {action} {url}: no S3 credentials; set AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY"
        return f"cannot {action} {url} on {endpoint}: {text[:300]}"


# Column chunks are read this many bytes at a time, not whole or a row group at once (pre-buffering): a Spark
# output's row group can hold tens of MiB per column.
_READ_BUFFER_BYTES = 1 << 20


def read_batches(filesystem: pafs.FileSystem, paths: list[str], columns: list[str] | None = None,
                 batch_rows: int = 65_536, schema: pa.Schema | None = None) -> Iterator[pa.RecordBatch]:
    """The rows of the Parquet files at ``paths``, file after file, ``batch_rows`` at a time (``columns``
    only, cast to ``schema`` when given).

    Synchronous on purpose: Arrow's dataset scanner keeps reading ahead of a consumer slower than the reads
    (an upload to Eloqua, a split into day files) whatever its read-ahead options say; with a consumer that
    waits 10 ms per batch it had a 2,000,000-row dataset's batches queued at once (149 MiB). Here memory is
    one batch and the column chunks' read buffers.
    """
    for path in paths:
        with filesystem.open_input_file(path) as handle:
            reader = pq.ParquetFile(handle, buffer_size=_READ_BUFFER_BYTES, pre_buffer=False)
            for batch in reader.iter_batches(batch_size=batch_rows, columns=columns, use_threads=False):
                yield batch if schema is None else batch.cast(schema)


def within_deadline(seconds: float, url: str, action: str, work: Callable[[], T]) -> T:
    """``work()``, or a one-line :class:`LakeError` once ``seconds`` have passed without it returning.

    pyarrow's dataset writer can wait forever on a store that stopped answering mid-write (its request
    timeouts do not cover every wait), so the caller is freed: the abandoned thread is a daemon and the
    caller's staging data is redone whole by the next run.
    """
    outcome: dict[str, Any] = {}

    def target() -> None:
        try:
            outcome["value"] = work()
        except BaseException as exc:  # handed to the caller's thread
            outcome["error"] = exc

    thread = threading.Thread(target=target, name=f"lake {action}", daemon=True)
    thread.start()
    thread.join(seconds)
    if thread.is_alive():
        raise LakeError(f"cannot {action} {url}: no progress within {seconds:.0f}s, the store stopped "
                        "answering; the write was abandoned: rerun once the store is back")
    if "error" in outcome:
        raise outcome["error"]
    return outcome["value"]


def open_lake(url: str, s3: S3Settings | None = None) -> Lake:
    """The lake at ``url``: a :class:`LocalLake` for ``file://``, an :class:`S3Lake` for ``s3://``."""
    try:
        url = normalize(url)
    except LakeUrlError as exc:
        raise LakeError(str(exc)) from None
    if url.startswith("s3://"):
        if s3 is None:
            raise LakeError(f"no S3 settings for the lake {url}: set SCC_S3_ENDPOINT_URL or [s3] endpoint_url")
        return S3Lake(url, s3)
    return LocalLake(url)
