"""The lake's layout: every zone path, for every stage, built here only (docs/architecture.md, "The lake").

A lake URL is ``file:///abs/folder`` (the embedded default; a bare path is accepted too) or
``s3://bucket/prefix`` on any S3-compatible store. Paths are returned as URLs in the lake's own scheme; Spark
gets the same URL with ``s3`` spelled ``s3a`` through :func:`for_spark`. The filesystems behind these URLs are
:mod:`lake.storage`; Luigi targets are built on them in ``luigi_tasks.targets``; Spark jobs use the URLs
directly. ``run_date=`` folder names are written by :func:`run_date_folder` and read by :func:`run_date_of`,
nowhere else.
"""

from __future__ import annotations

import datetime as dt
import os
import re
from dataclasses import dataclass
from urllib.parse import urlparse

ZONES = ("raw", "staged", "import_ready", "quarantine", "quality", "loaded", "rejects", "runs", "reports", "_state")
SUCCESS_FLAG = "_SUCCESS"
STAGING_PREFIX = "_tmp-"
RUN_DATE = "run_date"
_RUN_DATE_FOLDER = re.compile(r"^run_date=(\d{4}-\d{2}-\d{2})$")


class LakeUrlError(ValueError):
    """A lake URL that is neither ``file://`` nor ``s3://bucket[/prefix]``."""


def normalize(url: str) -> str:
    """Canonical lake URL: ``file:///abs/path`` or ``s3://bucket/prefix``, never with a trailing slash."""
    url = url.strip()
    if not url:
        raise LakeUrlError("lake URL is empty: pass --lake file:///path or s3://bucket/prefix")
    parsed = urlparse(url)
    if parsed.scheme in ("", "file"):
        path = parsed.path if parsed.scheme else url
        if parsed.scheme == "file" and parsed.netloc not in ("", "localhost"):
            raise LakeUrlError(f"lake URL {url!r} names a host; use file:///absolute/path")
        return "file://" + os.path.abspath(os.path.expanduser(path)).rstrip("/")
    if parsed.scheme in ("s3", "s3a"):
        if not parsed.netloc:
            raise LakeUrlError(f"lake URL {url!r} has no bucket; use s3://bucket/prefix")
        prefix = parsed.path.strip("/")
        return f"s3://{parsed.netloc}" + (f"/{prefix}" if prefix else "")
    raise LakeUrlError(
        f"lake URL {url!r} has scheme {parsed.scheme!r}; use file:///path or s3://bucket/prefix"
    )


def for_spark(url: str) -> str:
    """The URL Spark reads and writes: ``s3://`` becomes ``s3a://`` (Hadoop's S3A connector)."""
    return "s3a://" + url[len("s3://"):] if url.startswith("s3://") else url


def local_path(url: str) -> str:
    """The filesystem path of a ``file://`` URL."""
    if not url.startswith("file://"):
        raise LakeUrlError(f"{url!r} is not a local lake URL")
    return url[len("file://"):]


def staging_url(url: str, token: str) -> str:
    """Where a dataset is written before it is published: ``<parent>/_tmp-<name>-<token>``, beside ``url``.

    The name starts with ``_`` and holds no ``=``, so Spark's and pyarrow's partition discovery skip it;
    it stays on the same filesystem (a local rename) and in the same bucket (server-side copies) as ``url``.
    """
    parent, _, name = url.rstrip("/").rpartition("/")
    if not urlparse(url).path.strip("/") or not token or "/" in token:
        raise LakeUrlError(f"cannot stage {url!r} with token {token!r}: need a dataset URL and a plain token")
    return f"{parent}/{STAGING_PREFIX}{name.replace('=', '_')}-{token}"


def day(value: dt.date | str) -> str:
    """A data day as ``YYYY-MM-DD``; rejects anything else with a one-line reason."""
    if isinstance(value, dt.date):
        return value.isoformat()
    try:
        return dt.date.fromisoformat(value).isoformat()
    except ValueError:
        raise ValueError(f"invalid date {value!r}: expected YYYY-MM-DD") from None


def run_date_folder(run_date: dt.date | str) -> str:
    """The folder name of run day D: ``run_date=YYYY-MM-DD``."""
    return f"{RUN_DATE}={day(run_date)}"


def run_date_of(url_or_name: str) -> dt.date | None:
    """The run day of a ``.../run_date=YYYY-MM-DD`` dataset URL or folder name; None for anything else."""
    match = _RUN_DATE_FOLDER.match(url_or_name.rstrip("/").rsplit("/", 1)[-1])
    if match is None:
        return None
    try:
        return dt.date.fromisoformat(match.group(1))
    except ValueError:
        return None


def run_dates(urls_or_names: list[str]) -> list[dt.date]:
    """The run days among ``urls_or_names`` (others ignored), oldest first."""
    return sorted(d for d in map(run_date_of, urls_or_names) if d is not None)


@dataclass(frozen=True)
class LakeLayout:
    """Zone paths of one lake. Every method returns a URL in the lake's scheme, without a trailing slash."""

    url: str

    def __post_init__(self) -> None:
        object.__setattr__(self, "url", normalize(self.url))

    @property
    def is_s3(self) -> bool:
        return self.url.startswith("s3://")

    def join(self, *parts: str) -> str:
        return "/".join([self.url, *[p.strip("/") for p in parts if p]])

    # raw zone: Parquet straight from Eloqua
    def raw_contacts(self, run_date: dt.date | str) -> str:
        """One contacts export (full or the day's increment) for run day D."""
        return self.join("raw", "contacts", run_date_folder(run_date))

    def raw_contacts_root(self) -> str:
        return self.join("raw", "contacts")

    def raw_activities(self, activity_type: str, activity_date: dt.date | str) -> str:
        return self.join(
            "raw", "activities", f"activity_type={activity_type}", f"activity_date={day(activity_date)}"
        )

    def raw_activities_root(self) -> str:
        return self.join("raw", "activities")

    def raw_custom_object(self, name: str, run_date: dt.date | str) -> str:
        return self.join("raw", name, run_date_folder(run_date))

    # staged and downstream zones
    def staged_contacts(self, run_date: dt.date | str) -> str:
        return self.join("staged", "contacts", run_date_folder(run_date))

    def staged_contacts_root(self) -> str:
        return self.join("staged", "contacts")

    def import_ready(self, pipeline: str, run_date: dt.date | str) -> str:
        return self.join("import_ready", pipeline, run_date_folder(run_date))

    def quarantine(self, pipeline: str, run_date: dt.date | str) -> str:
        return self.join("quarantine", pipeline, run_date_folder(run_date))

    def quality(self, pipeline: str, run_date: dt.date | str) -> str:
        return self.join("quality", pipeline, run_date_folder(run_date))

    def data_docs(self) -> str:
        return self.join("quality", "data_docs")

    def loaded_receipt(self, pipeline: str, run_date: dt.date | str) -> str:
        return self.join("loaded", pipeline, run_date_folder(run_date), "receipt.json")

    def rejects(self, pipeline: str, run_date: dt.date | str) -> str:
        return self.join("rejects", pipeline, run_date_folder(run_date))

    # what the night did and how it went: task timings, the HTML report
    def run_task(self, run_date: dt.date | str, task_id: str) -> str:
        """One task's timing document (``luigi_tasks.timings``) in run day D's ``tasks`` folder."""
        return self.join("runs", run_date_folder(run_date), "tasks", f"{task_id}.json")

    def run_tasks(self, run_date: dt.date | str) -> str:
        return self.join("runs", run_date_folder(run_date), "tasks")

    def report(self, run_date: dt.date | str) -> str:
        """The night's self-contained HTML page (``quality.report``)."""
        return self.join("reports", run_date_folder(run_date), "index.html")

    def state(self, *parts: str) -> str:
        """Bookkeeping that lets a killed task resume (definition and sync uris, pages written)."""
        return self.join("_state", *parts)

    @staticmethod
    def success_flag(dataset_url: str) -> str:
        return dataset_url.rstrip("/") + "/" + SUCCESS_FLAG
