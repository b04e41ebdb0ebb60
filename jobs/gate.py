"""The quality gate of one payload (``--pipeline P``) for data day D: a Great Expectations checkpoint on Spark.

Reads ``import_ready/P/run_date=D`` (the batch), the row counts of ``staged/contacts/run_date=D`` (for the
row-count guard) and, for ``campaign_responses``, of ``quarantine/campaign_responses/run_date=D`` and
``raw/campaign_responses/run_date=D`` from their Parquet footers (no Spark job), the ``[gate]`` thresholds of
``--settings``, the ``loaded/P/run_date=*/receipt.json`` of earlier days and the validation results of earlier
runs. Writes, under ``quality/P/run_date=D/``: ``result.json`` (always: success, failed expectations, whether
this is an initial load and whether it was approved, the checkpoint result), ``runs/<time>.json`` (this run's
validation result, the Data Docs history) and ``_PASSED`` (only when the gate passed); and the Data Docs under
``quality/data_docs/`` (rendered locally, copied into the lake, which uploads them on ``s3a://``).

A pipeline's first load (no receipt for an earlier day) fails the gate unless ``--approve-initial-load`` is
given; approved, the row-count guard is not applied (a first payload touches most contacts).

    spark-submit jobs/gate.py --pipeline lead_scoring --date 2026-11-27 --lake file:///srv/scc/lake

Exit codes: 0 passed; 3 the payload failed its gate (one line on stderr naming the failed expectations and
the Data Docs page); 2 bad arguments or a missing input; 1 any other failure.
"""

from __future__ import annotations

import datetime as dt
import json
import sys
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pyspark.sql import SparkSession

from contract.objects import PAYLOADS
from jobs._common import EXIT_OK, InputError, JobContext, argument_parser, run_job
from lake.paths import for_spark
from quality.checkpoint import run_checkpoint
from quality.suites import suite_parameters
from quality.thresholds import ThresholdsError, load_thresholds
from spark.schemas import PAYLOAD_SCHEMAS

JOB = "gate"
EXIT_GATE_FAILED = 3
RESULT_FILE = "result.json"
PASSED_FLAG = "_PASSED"
RUNS_FOLDER = "runs"
APPROVE_FLAG = "--approve-initial-load"


class _LakeFiles:
    """Small files and Parquet footers through the JVM's Hadoop FileSystem: the same code for ``file://`` and
    ``s3a://``, with the S3A settings and credentials the job was submitted with."""

    def __init__(self, spark: SparkSession) -> None:
        jvm: Any = spark._jvm
        if jvm is None:
            raise RuntimeError("the gate needs a classic SparkSession with a JVM (not Spark Connect)")
        self._jvm = jvm
        self._conf = spark.sparkContext._jsc.hadoopConfiguration()

    def _path(self, url: str) -> tuple[Any, Any]:
        path = self._jvm.org.apache.hadoop.fs.Path(for_spark(url))
        return path.getFileSystem(self._conf), path

    def exists(self, url: str) -> bool:
        fs, path = self._path(url)
        return bool(fs.exists(path))

    def delete(self, url: str) -> None:
        fs, path = self._path(url)
        fs.delete(path, False)

    def folders(self, url: str) -> list[str]:
        """Names of the sub-folders of ``url`` (none when it does not exist)."""
        fs, path = self._path(url)
        if not fs.exists(path):
            return []
        return sorted(str(s.getPath().getName()) for s in fs.listStatus(path) if s.isDirectory())

    def files(self, url: str) -> list[str]:
        fs, path = self._path(url)
        if not fs.exists(path):
            return []
        return sorted(str(s.getPath().getName()) for s in fs.listStatus(path) if s.isFile())

    def read_bytes(self, url: str) -> bytes:
        fs, path = self._path(url)
        stream = fs.open(path)
        try:
            return bytes(self._jvm.org.apache.commons.io.IOUtils.toByteArray(stream))
        finally:
            stream.close()

    def write_bytes(self, url: str, data: bytes) -> None:
        fs, path = self._path(url)
        out = fs.create(path, True)
        try:
            out.write(bytearray(data))
        finally:
            out.close()

    def upload(self, local: Path, url: str) -> None:
        fs, path = self._path(url)
        fs.copyFromLocalFile(False, True, self._jvm.org.apache.hadoop.fs.Path(local.resolve().as_uri()), path)

    def parquet_rows(self, dataset_url: str) -> int:
        """The rows of a dataset's data files, summed from their Parquet footers (``_``/``.`` files skipped)."""
        fs, path = self._path(dataset_url)
        hadoop = self._jvm.org.apache.parquet.hadoop
        rows = 0
        for status in fs.listStatus(path):
            name = str(status.getPath().getName())
            if status.isFile() and not name.startswith(("_", ".")):
                reader = hadoop.ParquetFileReader.open(hadoop.util.HadoopInputFile.fromStatus(status, self._conf))
                try:
                    rows += int(reader.getRecordCount())
                finally:
                    reader.close()
        return rows


def _run_date_of(folder: str) -> dt.date | None:
    key, _, value = folder.partition("=")
    try:
        return dt.date.fromisoformat(value) if key == "run_date" else None
    except ValueError:
        return None


def _parent(url: str, levels: int = 1) -> str:
    return url.rsplit("/", levels)[0]


@dataclass
class _Verdict:
    message: str | None = None


def _earlier_receipt(ctx: JobContext, files: _LakeFiles, pipeline: str) -> str | None:
    """The receipt of the latest day before D that was loaded, if any."""
    root = _parent(ctx.lake.loaded_receipt(pipeline, ctx.run_date), 2)
    days = [d for d in map(_run_date_of, files.folders(root)) if d is not None and d < ctx.run_date]
    for day in sorted(days, reverse=True):
        receipt = ctx.lake.loaded_receipt(pipeline, day)
        if files.exists(receipt):
            return receipt
    return None


def _history(ctx: JobContext, files: _LakeFiles) -> list[dict[str, Any]]:
    """The validation results of every earlier gate run of every pipeline, for the Data Docs index."""
    records = []
    for pipeline in PAYLOADS:
        root = _parent(ctx.lake.quality(pipeline, ctx.run_date))
        for folder in files.folders(root):
            if _run_date_of(folder) is None:
                continue
            runs = f"{root}/{folder}/{RUNS_FOLDER}"
            records += [json.loads(files.read_bytes(f"{runs}/{n}")) for n in files.files(runs) if n.endswith(".json")]
    return records


def _run(ctx: JobContext, verdict: _Verdict) -> None:
    pipeline: str = ctx.args.pipeline
    day, layout = ctx.run_date, ctx.lake
    try:
        thresholds = load_thresholds(ctx.args.settings)
    except ThresholdsError as err:
        raise InputError(str(err)) from None
    files = _LakeFiles(ctx.spark)
    quality = layout.quality(pipeline, day)
    # A pass from an earlier run of D must not outlive this one (the payload may have been rebuilt since).
    files.delete(f"{quality}/{PASSED_FLAG}")

    payload_url, snapshot_url = layout.import_ready(pipeline, day), layout.staged_contacts(day)
    ctx.require([payload_url], f"the {pipeline} payload (jobs/{pipeline}.py)")
    ctx.require([snapshot_url], "the contacts snapshot (jobs/contacts_snapshot.py)")
    counts: dict[str, int] = {"snapshot_rows": files.parquet_rows(snapshot_url)}
    if pipeline == "campaign_responses":
        quarantine, raw = layout.quarantine(pipeline, day), layout.raw_custom_object("campaign_responses", day)
        ctx.require([quarantine], "the campaign_responses quarantine (jobs/campaign_responses.py)")
        ctx.require([raw], "the campaign_responses export")
        counts["quarantined_rows"] = files.parquet_rows(quarantine)
        counts["responses_of_day"] = files.parquet_rows(raw)

    earlier_receipt = _earlier_receipt(ctx, files, pipeline)
    initial = earlier_receipt is None
    approved = initial and bool(ctx.args.approve_initial_load)
    parameters = suite_parameters(
        pipeline, day, thresholds=thresholds, row_count_guard=not approved,
        snapshot_rows=counts["snapshot_rows"], quarantined_rows=counts.get("quarantined_rows"),
        responses_of_day=counts.get("responses_of_day"),
    )
    payload = ctx.read_parquet([payload_url], PAYLOAD_SCHEMAS[pipeline])

    with tempfile.TemporaryDirectory(prefix="scc-data-docs-") as docs:
        outcome = run_checkpoint(pipeline, payload, day, parameters, thresholds, Path(docs), _history(ctx, files))
        page = f"{layout.data_docs()}/{outcome.page}"
        problems = []
        if initial and not approved:
            problems.append(
                f"initial load (no receipt under {_parent(ctx.lake.loaded_receipt(pipeline, day), 2)} before {day}): "
                f"rerun with {APPROVE_FLAG} to load it"
            )
        if outcome.failed_expectations:
            problems.append("failed " + ", ".join(outcome.failed_expectations))
        passed = outcome.success and not problems
        message = None if passed else f"gate {pipeline} {day}: {'; '.join(problems)}; Data Docs: {page}"
        result = {
            "pipeline": pipeline,
            "run_date": day.isoformat(),
            "success": passed,
            "checkpoint_success": outcome.success,
            "failed_expectations": outcome.failed_expectations,
            "initial_load": initial,
            "initial_load_approved": approved,
            "earlier_receipt": earlier_receipt,
            "max_rows": parameters["max_rows"],
            **counts,
            "payload": payload_url,
            "data_docs_page": page,
            "data_docs_index": f"{layout.data_docs()}/index.html",
            "message": message,
            "checkpoint_result": outcome.checkpoint_result,
        }
        for record in outcome.records:
            run_time = record["key"][2]
            files.write_bytes(f"{quality}/{RUNS_FOLDER}/{run_time}.json", json.dumps(record).encode("utf-8"))
        files.write_bytes(f"{quality}/{RESULT_FILE}", (json.dumps(result, indent=2) + "\n").encode("utf-8"))
        for local in sorted(p for p in Path(docs).rglob("*") if p.is_file()):
            relative = local.relative_to(docs).as_posix()
            if relative not in outcome.placeholders:
                files.upload(local, f"{layout.data_docs()}/{relative}")

    if passed:
        files.write_bytes(f"{quality}/{PASSED_FLAG}", b"")
        print(f"{JOB} {pipeline} {day}: passed; Data Docs: {page}", flush=True)
    verdict.message = message


def main(argv: Sequence[str] | None = None) -> int:
    parser = argument_parser(JOB, __doc__)
    parser.add_argument("--pipeline", required=True, choices=sorted(PAYLOADS), help="the payload to check")
    parser.add_argument(APPROVE_FLAG, action="store_true",
                        help="let a pipeline's first load through (no row-count guard)")
    verdict = _Verdict()
    code = run_job(JOB, __doc__, argv, lambda ctx: _run(ctx, verdict), parser)
    if code == EXIT_OK and verdict.message:
        # Printed after the session stopped, so it is the job's last line of its own on stderr.
        print(verdict.message, file=sys.stderr, flush=True)
        return EXIT_GATE_FAILED
    return code


if __name__ == "__main__":
    sys.exit(main())
