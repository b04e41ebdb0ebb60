"""Wiring shared by the spark-submit entry points: arguments, session, inputs, reference data and writes.

Every job takes ``--date YYYY-MM-DD --lake URL [--reference-dir DIR] [--settings FILE] [--verbose]``. Paths
come only from :class:`lake.paths.LakeLayout` (Spark gets them through :func:`lake.paths.for_spark`); a dataset
is committed in place by the S3A magic committer on ``s3a://`` and staged then renamed on ``file://``
(:meth:`JobContext.write`);
S3A settings arrive as ``--conf`` from the caller and credentials as ``AWS_*`` variables, never from here.

Exit codes: 0 done; 2 bad arguments or a missing/invalid input (one line on stderr saying what to do); 1 any
other failure (one line; the traceback too with ``--verbose``). Each job prints one summary line on stdout and
writes its counts to ``_metrics.json`` inside the dataset it wrote (readers skip ``_``-prefixed files).
"""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import json
import sys
import traceback
import uuid
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pyspark import SparkConf, SparkContext
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import types as T

from contract.arguments import OneLineParser, UsageError, data_day
from contract.calendar import lookback_days
from contract.settings import PipelineSettings, SettingsError
from contract.settings import load_settings as _load_settings
from lake.cleanup import DEFAULT_AGE, sweep
from lake.paths import SUCCESS_FLAG, LakeLayout, LakeUrlError, for_spark, run_date_of
from lake.spark import LOCAL_BIND_CONF, SESSION_CONF
from lake.storage import open_lake
from spark.lead_scoring import SCORED_ACTIVITY_TYPES, scored_contacts
from spark.schemas import COUNTRIES_REFERENCE, RAW_ACTIVITIES, RAW_CONTACTS, STATES_REFERENCE
from spark.staging import SchemaMismatchError, stage_activities, stage_contacts
from spark.washing import JobLevelRule, check_job_level_rules

REPO_ROOT = Path(__file__).resolve().parents[1]
DEFAULT_REFERENCE_DIR = REPO_ROOT / "conf" / "reference"
METRICS_FILE = "_metrics.json"
# A ``_tmp.*`` output older than this beside a dataset is a killed write's: the live writes of a night are hours
# younger (the age the extract's cleanup uses, :data:`lake.cleanup.DEFAULT_AGE`).
ABANDONED_OUTPUT_AGE = DEFAULT_AGE

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_INPUT = 2


class InputError(Exception):
    """Bad arguments or a missing/invalid input: one line for a person, exit code 2."""


def _lake(text: str) -> LakeLayout:
    try:
        return LakeLayout(text)
    except LakeUrlError as err:
        raise argparse.ArgumentTypeError(str(err)) from None


def argument_parser(job: str, description: str | None) -> argparse.ArgumentParser:
    """The common arguments; a job may add its own before :func:`run_job` parses them."""
    parser = OneLineParser(prog=job, description=(description or "").split("\n\n")[0])
    parser.add_argument("--date", required=True, type=data_day, help="data day D, YYYY-MM-DD (UTC)")
    parser.add_argument("--lake", required=True, type=_lake, help="lake URL: file:///path or s3://bucket/prefix")
    parser.add_argument(
        "--reference-dir",
        type=Path,
        default=DEFAULT_REFERENCE_DIR,
        help="folder with countries.csv, states.csv, job_levels.csv (default: conf/reference of the repo)",
    )
    parser.add_argument(
        "--settings",
        type=Path,
        default=None,
        help="pipeline settings TOML (default: the repo's conf/pipelines.toml if present, else the spec's)",
    )
    parser.add_argument("--verbose", action="store_true", help="print the traceback of a failure")
    return parser


# --- settings and reference data ------------------------------------------------------------------------


def load_settings(path: Path | None) -> PipelineSettings:
    """:func:`contract.settings.load_settings`, its errors as :class:`InputError` (exit code 2)."""
    try:
        return _load_settings(path)
    except SettingsError as err:
        raise InputError(str(err)) from None


def _read_csv(path: Path, columns: Sequence[str]) -> list[dict[str, str]]:
    try:
        with path.open(encoding="utf-8", newline="") as handle:
            reader = csv.DictReader(handle)
            if tuple(reader.fieldnames or ()) != tuple(columns):
                raise InputError(f"reference file {path} has columns {reader.fieldnames}: expected {','.join(columns)}")
            rows = list(reader)
    except FileNotFoundError:
        raise InputError(
            f"reference file {path} not found: pass --reference-dir pointing at the project's conf/reference"
        ) from None
    for number, row in enumerate(rows, start=2):
        if any(not (row.get(c) or "").strip() for c in columns):
            raise InputError(f"reference file {path} line {number} has an empty value: fill it or remove the line")
    return rows


def read_country_aliases(reference_dir: Path) -> list[tuple[str, str]]:
    """``countries.csv`` as ``(alias, iso2)`` pairs; an alias mapped to two codes is an error."""
    path = reference_dir / "countries.csv"
    seen: dict[str, str] = {}
    for row in _read_csv(path, ("alias", "iso2")):
        alias, code = row["alias"], row["iso2"]
        if seen.setdefault(alias, code) != code:
            raise InputError(f"reference file {path} maps alias {alias!r} to {seen[alias]} and {code}: keep one")
    return sorted(seen.items())


def read_state_aliases(reference_dir: Path) -> list[tuple[str, str, str]]:
    """``states.csv`` as ``(country_iso, alias, code)``; an alias mapped to two codes in a country is an
    error."""
    path = reference_dir / "states.csv"
    seen: dict[tuple[str, str], str] = {}
    for row in _read_csv(path, ("country_iso", "alias", "code")):
        key = (row["country_iso"], row["alias"])
        if seen.setdefault(key, row["code"]) != row["code"]:
            raise InputError(f"reference file {path} maps {key} to {seen[key]} and {row['code']}: keep one")
    return sorted((country, alias, code) for (country, alias), code in seen.items())


def read_job_level_rules(reference_dir: Path) -> list[JobLevelRule]:
    """``job_levels.csv`` as ordered ``(pattern, level)`` rules, each checked."""
    path = reference_dir / "job_levels.csv"
    rules = [(row["pattern"], row["level"]) for row in _read_csv(path, ("pattern", "level"))]
    try:
        check_job_level_rules(rules)
    except ValueError as err:
        raise InputError(f"reference file {path}: {err}") from None
    return rules


# --- the run ----------------------------------------------------------------------------------------------


def build_session(app_name: str) -> tuple[SparkSession, bool]:
    """The active SparkSession if there is one (tests, notebooks), else a new one; ``(session, created)``.

    Whatever the caller's configuration, the session gets :data:`lake.spark.SESSION_CONF` (UTC session time
    zone, INT64 microsecond Parquet timestamps), the one place those are set; a new local session binds to
    loopback with no UI (:data:`lake.spark.LOCAL_BIND_CONF`) unless the submitter set those keys.
    """
    session = SparkSession.getActiveSession()
    created = session is None
    if session is None:
        builder = SparkSession.builder.appName(app_name)
        SparkContext._ensure_initialized()  # the JVM of spark-submit, whose conf a cluster run brings
        given = SparkConf()
        if given.get("spark.master", "local[*]").startswith("local"):
            for key, value in LOCAL_BIND_CONF.items():  # loopback, no UI: unless the submitter said otherwise
                if not given.contains(key):
                    builder = builder.config(key, value)
        session = builder.getOrCreate()
    for key, value in SESSION_CONF.items():
        session.conf.set(key, value)
    return session, created


@dataclass
class JobContext:
    """What a job body gets: the parsed arguments, the session and the I/O helpers bound to them."""

    job: str
    args: argparse.Namespace
    spark: SparkSession
    settings: PipelineSettings

    @property
    def run_date(self) -> dt.date:
        return self.args.date

    @property
    def lake(self) -> LakeLayout:
        return self.args.lake

    # Hadoop FileSystem of the JVM: the same code serves file:// and s3a://.
    def _hadoop_path(self, *parts: Any) -> Any:
        jvm: Any = self.spark._jvm
        if jvm is None:
            raise RuntimeError("the jobs need a classic SparkSession with a JVM (not Spark Connect)")
        return jvm.org.apache.hadoop.fs.Path(*parts)

    def _path(self, url: str) -> Any:
        return self._hadoop_path(for_spark(url))

    def _fs(self, path: Any) -> Any:
        return path.getFileSystem(self.spark.sparkContext._jsc.hadoopConfiguration())

    def exists(self, url: str) -> bool:
        path = self._path(url)
        return bool(self._fs(path).exists(path))

    def is_complete(self, dataset_url: str) -> bool:
        """True when the dataset's ``_SUCCESS`` flag exists."""
        return self.exists(LakeLayout.success_flag(dataset_url))

    def read_json(self, url: str, default: Any = None) -> Any:
        """A small JSON document of the lake (a manifest, a lineage record); ``default`` when absent."""
        path = self._path(url)
        fs = self._fs(path)
        if not fs.exists(path):
            return default
        stream = fs.open(path)
        try:
            jvm: Any = self.spark._jvm
            return json.loads(bytes(jvm.org.apache.commons.io.IOUtils.toByteArray(stream)))
        finally:
            stream.close()

    def write_json(self, url: str, value: Any) -> None:
        """Writes a small JSON document (replaced whole: readers of a dataset wait for its ``_SUCCESS``)."""
        path = self._path(url)
        out = self._fs(path).create(path, True)
        try:
            out.write(bytearray((json.dumps(value, indent=2, sort_keys=True) + "\n").encode("utf-8")))
        finally:
            out.close()

    def require(self, dataset_urls: Iterable[str], what: str) -> None:
        """Raises :class:`InputError` naming the first missing dataset (no ``_SUCCESS``) among
        ``dataset_urls``."""
        missing = [url for url in dataset_urls if not self.is_complete(url)]
        if missing:
            more = f" (and {len(missing) - 1} more)" if len(missing) > 1 else ""
            raise InputError(
                f"missing input: {what} at {missing[0]}{more} has no {SUCCESS_FLAG}; "
                f"run the upstream stage for {self.run_date} first"
            )

    def run_dates_under(self, root_url: str) -> list[dt.date]:
        """The ``run_date=`` days of the complete datasets under ``root_url``, oldest first."""
        root = self._path(root_url)
        fs = self._fs(root)
        if not fs.exists(root):
            return []
        days = []
        for status in fs.listStatus(root):
            name = status.getPath().getName()
            run_date = run_date_of(name)
            if status.isDirectory() and run_date and self.is_complete(f"{root_url}/{name}"):
                days.append(run_date)
        return sorted(days)

    def read_parquet(self, urls: Sequence[str], schema: T.StructType) -> DataFrame:
        """The Parquet files of the datasets at ``urls`` as one DataFrame, with the types found in the files.

        Datasets with no data file at all (an export of zero rows) give an empty DataFrame of ``schema``.
        """
        from pyspark.errors import AnalysisException

        try:
            return self.spark.read.parquet(*[for_spark(u) for u in urls])
        except AnalysisException as err:
            if "UNABLE_TO_INFER_SCHEMA" not in str(err):
                raise
            return self.spark.createDataFrame([], schema)

    def staged_contacts(self) -> DataFrame:
        """The contacts snapshot for D, conformed to the contract (required)."""
        url = self.lake.staged_contacts(self.run_date)
        self.require([url], "the contacts snapshot (jobs/contacts_snapshot.py)")
        return stage_contacts(self.read_parquet([url], RAW_CONTACTS))

    def activities(self, types: Sequence[str], days: Sequence[dt.date]) -> DataFrame:
        """Raw activities of ``types`` over ``days``, conformed to the contract (every partition required)."""
        urls = [self.lake.raw_activities(t, d) for t in types for d in days]
        self.require(urls, f"the {'/'.join(types)} activities")
        return stage_activities(self.read_parquet(urls, RAW_ACTIVITIES))

    def custom_object(self, name: str, schema: T.StructType) -> DataFrame:
        """The raw export of custom object ``name`` for D, as exported (required)."""
        url = self.lake.raw_custom_object(name, self.run_date)
        self.require([url], f"the {name} export")
        return self.read_parquet([url], schema)

    def scored_contacts(self) -> DataFrame:
        """The washed contacts of D with this run's lead rating (``lead_scoring`` and ``campaign_responses``)."""
        settings = self.settings.lead_scoring
        activities = self.activities(SCORED_ACTIVITY_TYPES, lookback_days(self.run_date, settings.lookback_days))
        return scored_contacts(self.staged_contacts(), activities, *self.reference(), self.run_date, settings)

    def reference(self) -> tuple[DataFrame, DataFrame, list[JobLevelRule]]:
        """``(countries, states, job_level_rules)`` from ``--reference-dir``."""
        folder: Path = self.args.reference_dir
        countries = self.spark.createDataFrame(read_country_aliases(folder), COUNTRIES_REFERENCE)
        states = self.spark.createDataFrame(read_state_aliases(folder), STATES_REFERENCE)
        return countries, states, read_job_level_rules(folder)

    def write(self, df: DataFrame, dataset_url: str, **metrics: Any) -> int:
        """Writes ``df`` as Parquet to ``dataset_url``, replacing any previous dataset, and returns its rows.

        The previous dataset is hidden first (its ``_SUCCESS`` goes before its files). Then:

        * ``s3a://``: Spark writes straight to the dataset URL through the S3A magic committer, which uploads
          every file as a pending multipart upload and completes them all at job commit, then writes
          ``_SUCCESS``: nothing is renamed or copied (a rename on S3 is a copy of every object).
        * ``file://``: Spark writes to a ``_tmp.*`` sibling (invisible to readers of the parent), renamed into
          place, and ``_SUCCESS`` is written last; then the ``_tmp.*`` siblings that killed writes left there
          (older than :data:`ABANDONED_OUTPUT_AGE`) are removed.

        ``_metrics.json`` (rows + ``metrics``) lands in the dataset either way; readers wait for ``_SUCCESS``.
        """
        target = self._path(dataset_url)
        fs = self._fs(target)
        if fs.exists(target):
            fs.delete(self._hadoop_path(target, SUCCESS_FLAG), False)
            fs.delete(target, True)
        if self.lake.is_s3:
            # "overwrite": a store with real folders (SeaweedFS) keeps the emptied folder, which is no dataset
            df.write.mode("overwrite").parquet(target.toString())
            rows = self._write_metrics(fs, target, metrics)
        else:
            rows = self._write_staged_and_rename(df, fs, target, metrics)
            self._remove_abandoned_outputs(dataset_url)
        print(f"{self.job} {self.run_date}: wrote {rows} rows to {dataset_url}", flush=True)
        return rows

    def _parquet_rows(self, fs: Any, folder: Any) -> int:
        """The rows of the data files just written, summed from their Parquet footers on the driver: reading
        the dataset back to count it cost a Spark job (and a file listing) per write."""
        jvm: Any = self.spark._jvm
        hadoop = jvm.org.apache.parquet.hadoop
        conf = self.spark.sparkContext._jsc.hadoopConfiguration()
        rows = 0
        for status in fs.listStatus(folder):
            name = str(status.getPath().getName())
            if status.isFile() and not name.startswith(("_", ".")):
                reader = hadoop.ParquetFileReader.open(hadoop.util.HadoopInputFile.fromStatus(status, conf))
                try:
                    rows += int(reader.getRecordCount())
                finally:
                    reader.close()
        return rows

    def _write_metrics(self, fs: Any, folder: Any, metrics: dict[str, Any]) -> int:
        rows = self._parquet_rows(fs, folder)
        body = json.dumps({"rows": rows, **metrics}, sort_keys=True).encode("utf-8")
        out = fs.create(self._hadoop_path(folder, METRICS_FILE), True)
        out.write(bytearray(body))
        out.close()
        return rows

    def _remove_abandoned_outputs(self, dataset_url: str) -> None:
        """Remove the ``_tmp.*`` outputs that killed writes left beside ``dataset_url`` (a killed job never
        reaches its ``finally``; nothing else would ever delete them), never a live write's: those are younger
        than :data:`ABANDONED_OUTPUT_AGE`. Best effort: the dataset is published, a leftover is no failure."""
        parent = dataset_url.rstrip("/").rpartition("/")[0]
        try:
            sweep(open_lake(self.lake.url), parent, ABANDONED_OUTPUT_AGE)
        except Exception as err:
            print(f"{self.job}: abandoned outputs under {parent} not removed this time ({err})", flush=True)

    def _write_staged_and_rename(self, df: DataFrame, fs: Any, target: Any, metrics: dict[str, Any]) -> int:
        tmp = self._hadoop_path(target.getParent(), f"_tmp.{target.getName()}.{uuid.uuid4().hex}")
        try:
            df.write.mode("errorifexists").parquet(tmp.toString())
            fs.delete(self._hadoop_path(tmp, SUCCESS_FLAG), False)
            rows = self._write_metrics(fs, tmp, metrics)
            # Hadoop renames a folder INTO an existing one: a dataset another writer published meanwhile would
            # silently gain a `_tmp.*` subfolder (a column to readers) instead of being replaced.
            if fs.exists(target):
                raise OSError(f"{target.toString()} was published by another writer while this job ran; "
                              "run one night per lake at a time")
            if not fs.rename(tmp, target):
                raise OSError(f"could not rename {tmp.toString()} to {target.toString()}")
            fs.create(self._hadoop_path(target, SUCCESS_FLAG), True).close()
        finally:
            if fs.exists(tmp):
                fs.delete(tmp, True)
        return rows


JobBody = Callable[[JobContext], None]


def failure_line(err: Exception) -> str:
    """One line for a failure: its type and first line; for an error of the JVM, the Java exception and its
    root cause, since py4j's own text ("An error occurred while calling o503.parquet.") names only the call.
    A store that went away mid-write then reads "org.apache.spark.SparkException: Job aborted due to stage
    failure: ... initiate MultiPartUpload on <key>: ... Connect to <endpoint> failed: Connection refused"."""
    first_line = f"{type(err).__name__}: {(str(err).strip().splitlines() or [''])[0]}"
    java = getattr(err, "java_exception", None)
    if java is None:
        return first_line
    try:
        root, seen = java, 0
        while root.getCause() is not None and seen < 50:  # a cause chain may loop; 50 is far deeper
            root, seen = root.getCause(), seen + 1
        top = (str(java.toString()).strip().splitlines() or [""])[0]
        cause = (str(root.toString()).strip().splitlines() or [""])[0]
    except Exception:  # the JVM is gone: py4j's own text is all there is
        return first_line
    return top if cause in top else f"{top}; root cause: {cause}"


def run_job(
    job: str,
    description: str | None,
    argv: Sequence[str] | None,
    body: JobBody,
    parser: argparse.ArgumentParser | None = None,
) -> int:
    """Parses ``argv``, builds the session, runs ``body`` and maps failures to one line and an exit code."""
    parser = parser or argument_parser(job, description)
    verbose = "--verbose" in (argv if argv is not None else sys.argv[1:])
    spark = None
    created = False
    try:
        args = parser.parse_args(argv)
        settings = load_settings(args.settings)
        spark, created = build_session(f"scc {job} {args.date}")
        body(JobContext(job=job, args=args, spark=spark, settings=settings))
        return EXIT_OK
    except (InputError, UsageError) as err:
        print(str(err), file=sys.stderr, flush=True)
        return EXIT_INPUT
    except SchemaMismatchError as err:
        print(f"{job}: {err}", file=sys.stderr, flush=True)
        return EXIT_INPUT
    except Exception as err:  # one line for a person; the traceback only on request
        if verbose:
            traceback.print_exc()
        print(f"{job} failed: {failure_line(err)}", file=sys.stderr, flush=True)
        return EXIT_FAILED
    finally:
        if spark is not None and created:
            spark.stop()
