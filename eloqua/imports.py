"""Bulk imports from Parquet: one gated payload loaded into Eloqua, exactly once in effect.

    receipt = load_payload(client, lake, PAYLOADS["lead_scoring"], dt.date(2026, 11, 27))

The mirror of the export run. For ``(pipeline, D)``:

1. the import definition ``scc <pipeline> <D>`` (found by that name, else created): the payload's columns mapped
   to their statements (contacts: the contract's EML; custom objects: resolved from
   ``/customObjects/{id}/fields``), the payload's identifier, ``updateRule: always``,
   ``isSyncTriggeredOnImport: false``;
2. the payload's Parquet read in record batches and posted to ``{definition}/data`` as CSV (or JSON) chunks of
   at most 32 MB, at most 500 posts (Eloqua refuses the 501st before a sync; a payload needing more fails
   before its sync, its staged data deleted);
3. one sync, polled to its end: ``error`` fails the load; on ``warning`` every reject
   (``/syncs/{id}/rejects``) is written to ``rejects/<pipeline>/run_date=D/`` (the posted values, Eloqua's
   ``message``, ``statusCode``, ``recordIndex``, ``invalidFields``);
4. last, ``loaded/<pipeline>/run_date=D/receipt.json`` (definition, sync, status, rows staged and rejected,
   the sync log's counts, timestamps): it marks the load done.

Columns marked ``instance_time`` are UTC in the lake and written in the instance's time zone
(:func:`eloqua.settings.instance_timezone`). Memory depends on the batch and chunk sizes, not the payload.

Exactly once in effect. ``_state/load/<pipeline>/run_date=D.json`` records the phase, the definition, the
chunks posted and the sync, and is written before each step that changes Eloqua. A rerun:

* with the receipt present does nothing;
* with a sync recorded polls that sync, and never starts another for the same data;
* killed between ``POST /syncs`` and recording its answer (or with its state lost) adopts the definition's
  sync if it has one (one not recorded as failed) before creating any;
* with chunks staged but no sync deletes the staged data (``DELETE {definition}/data``) and stages again from
  the first row: no half-staged or twice-staged data is ever synced;
* after a sync that succeeded but no receipt, reads the rejects and writes the receipt.

A data POST whose answer is lost may have been staged: it is never simply re-sent; the staged data is deleted
and staging starts over (429, which Eloqua answers before doing anything, is retried in place).
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import logging
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any, Literal
from zoneinfo import ZoneInfo

import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.dataset as pads
import pyarrow.parquet as pq

from contract.objects import Column, Payload
from eloqua.client import MAX_IMPORT_POST_BYTES, MAX_LIST_LIMIT, EloquaClient, RetryPolicy, uri_id
from eloqua.errors import EloquaError, EloquaUnreachable, RetryExhausted, SyncFailed
from eloqua.progress import Progress, progress_for
from eloqua.settings import instance_timezone
from lake.paths import day, run_date_folder
from lake.storage import Lake, read_batches

log = logging.getLogger(__name__)

MAX_POSTS_PER_SYNC = 500
STATE_FORMAT = 1
RECEIPT_FORMAT = 1
ELOQUA_TS = "%Y-%m-%d %H:%M:%S"
STAGED_LOG = "ELQ-00130"  # "Total records staged for import.", count = rows the sync took
Transfer = Literal["csv", "json"]
TRANSFERS: tuple[str, ...] = ("csv", "json")
_ONE_ATTEMPT = RetryPolicy(max_attempts=1)

Step = Callable[[str, Mapping[str, Any]], None]
"""Called as ``(step, details)`` after each step of a load: ``definition``, ``chunk`` (after each post),
``sync_posted`` (answered, not yet recorded), ``sync_recorded``, ``sync_done``; for progress and tests."""


class LoadError(EloquaError):
    """A load that cannot go on: the payload is missing or too large, or staging kept failing."""


@dataclass(frozen=True)
class LoadOptions:
    """How a payload is sent; none of these changes what Eloqua ends up holding."""

    transfer: Transfer = "csv"
    max_post_bytes: int = MAX_IMPORT_POST_BYTES
    max_posts: int = MAX_POSTS_PER_SYNC
    batch_rows: int = 10_000
    sync_timeout: float = 6 * 3600.0
    data_retention: str = "P7D"
    max_restages: int = 5
    timezone: ZoneInfo | None = None
    """None: :func:`eloqua.settings.instance_timezone`."""

    def __post_init__(self) -> None:
        if self.transfer not in TRANSFERS:
            raise ValueError(f"transfer {self.transfer!r} is neither 'csv' nor 'json'")
        if not 1 <= self.max_posts <= MAX_POSTS_PER_SYNC:
            raise ValueError(f"max_posts {self.max_posts} is outside Eloqua's range 1..{MAX_POSTS_PER_SYNC}")
        if not 64 <= self.max_post_bytes <= MAX_IMPORT_POST_BYTES:
            raise ValueError(f"max_post_bytes {self.max_post_bytes} is outside 64..{MAX_IMPORT_POST_BYTES}")
        if self.batch_rows < 1:
            raise ValueError("batch_rows must be at least 1")


# ------------------------------------------------------------------------------------------ definitions


def definition_name(pipeline: str, run_date: dt.date | str) -> str:
    """The deterministic name of the import definition of ``(pipeline, D)``: ``scc <pipeline> <YYYY-MM-DD>``."""
    return f"scc {pipeline} {day(run_date)}"


def import_entity(client: EloquaClient, payload: Payload) -> str:
    """``contacts``, or ``customObjects/{id}`` of the custom object the payload targets (found by name)."""
    if payload.target == "contacts":
        return "contacts"
    return f"customObjects/{uri_id(client.find_custom_object(payload.target)['uri'])}"


def import_fields(client: EloquaClient, payload: Payload, entity: str) -> dict[str, str]:
    """Payload column -> statement, in payload order; custom-object statements resolved through Eloqua."""
    cdo = [c for c in payload.columns if c.statement is None]
    resolved = client.resolve_statements(uri_id(entity), [c.cdo_field or c.name for c in cdo]) if cdo else {}
    return {c.name: c.statement or resolved[c.cdo_field or c.name] for c in payload.columns}


def import_definition(payload: Payload, fields: Mapping[str, str], name: str,
                      data_retention: str = "P7D") -> dict[str, Any]:
    """The definition body: match on the payload's identifier, overwrite every posted field, sync by hand."""
    return {
        "name": name,
        "fields": dict(fields),
        "identifierFieldName": payload.identifier,
        "isSyncTriggeredOnImport": False,
        "updateRule": "always",
        "dataRetentionDuration": data_retention,
    }


# ---------------------------------------------------------------------------------------- serialisation


@dataclass(frozen=True)
class Chunk:
    """One data POST: its body and the payload rows it holds."""

    body: bytes
    rows: int
    content_type: str


def _as_text(column: Column, values: pa.Array, zone: ZoneInfo) -> pa.Array:
    """One payload column as the strings Eloqua imports (null stays null; written as blank)."""
    kind = values.type
    if pa.types.is_timestamp(kind):
        utc = values if kind.tz else pc.assume_timezone(values, "UTC")
        if column.instance_time:
            # The lake's UTC instant, written on the instance's wall clock (DST included): Arrow formats a
            # timestamp in its type's time zone, so a cast of the zone is the whole conversion.
            if zone.key:
                # whole seconds, as Python's %S wrote them (Arrow's %S adds the fraction of finer units)
                local = pc.cast(utc, pa.timestamp("s", tz=zone.key), safe=False)
                return pc.strftime(local, format=ELOQUA_TS)
            instants = values.to_pylist()  # a zone read from a file has no IANA name Arrow could look up
            return pa.array([None if v is None else _utc(v).astimezone(zone).strftime(ELOQUA_TS)
                             for v in instants], pa.string())
        return pc.strftime(utc, format=ELOQUA_TS)
    if pa.types.is_boolean(kind):
        return pc.if_else(values, pa.scalar("true"), pa.scalar("false"))
    if pa.types.is_string(kind) or pa.types.is_large_string(kind):
        return values.cast(pa.string())
    return pc.cast(values, pa.string())


def _utc(value: dt.datetime) -> dt.datetime:
    return value.replace(tzinfo=dt.UTC) if value.tzinfo is None else value


def _texts(batch: pa.RecordBatch, payload: Payload, zone: ZoneInfo) -> pa.Table:
    columns = [_as_text(c, batch.column(c.name), zone) for c in payload.columns]
    return pa.Table.from_arrays(columns, names=list(payload.column_names))


def _fragment(table: pa.Table, transfer: Transfer) -> bytes:
    """Rows of ``table`` without header or brackets: CSV lines, or JSON objects joined by commas."""
    if transfer == "csv":
        out = io.BytesIO()
        pacsv.write_csv(table, out, pacsv.WriteOptions(include_header=False, quoting_style="needed"))
        return out.getvalue()
    rows = [{k: "" if v is None else v for k, v in row.items()} for row in table.to_pylist()]
    return ",".join(json.dumps(r, ensure_ascii=False, separators=(",", ":")) for r in rows).encode("utf-8")


def serialise(batches: Iterable[pa.RecordBatch], payload: Payload, zone: ZoneInfo,
              transfer: Transfer = "csv", max_bytes: int = MAX_IMPORT_POST_BYTES) -> Iterator[Chunk]:
    """Chunks of at most ``max_bytes`` holding every row of ``batches`` once, in order.

    CSV chunks start with the header row (the payload's column names); JSON chunks are arrays of flat objects.
    Blank values (nulls) are sent as ''. A single row larger than ``max_bytes`` raises LoadError.
    """
    if transfer == "csv":
        header = io.StringIO()
        csv.writer(header, lineterminator="\n").writerow(payload.column_names)
        head, tail, joiner = header.getvalue().encode(), b"", b""
        content_type = "text/csv"
    else:
        head, tail, joiner = b"[", b"]", b","
        content_type = "application/json"
    frame = len(head) + len(tail)
    parts: list[bytes] = []
    size = rows = 0

    def fragments(table: pa.Table) -> Iterator[tuple[bytes, int]]:
        data = _fragment(table, transfer)
        if frame + len(data) <= max_bytes:
            yield data, table.num_rows
        elif table.num_rows == 1:
            raise LoadError(f"one row of {payload.pipeline} needs {len(data) + frame} bytes, more than the "
                            f"{max_bytes} bytes a data post may carry")
        else:
            half = table.num_rows // 2
            yield from fragments(table.slice(0, half))
            yield from fragments(table.slice(half))

    for batch in batches:
        if batch.num_rows == 0:
            continue
        for data, n in fragments(_texts(batch, payload, zone)):
            extra = len(data) + (len(joiner) if parts else 0)
            if parts and frame + size + extra > max_bytes:
                yield Chunk(head + joiner.join(parts) + tail, rows, content_type)
                parts, size, rows = [], 0, 0
                extra = len(data)
            parts.append(data)
            size += extra
            rows += n
    if parts:
        yield Chunk(head + joiner.join(parts) + tail, rows, content_type)


# ------------------------------------------------------------------------------------------------ the load


def state_url(lake: Lake, pipeline: str, run_date: dt.date | str) -> str:
    """``_state/load/<pipeline>/run_date=D.json``: the resume record of one load."""
    return lake.layout.state("load", pipeline, f"{run_date_folder(run_date)}.json")


def _now() -> str:
    return dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


class _Ambiguous(Exception):
    """Internal: a data POST failed in a way that may have staged its rows anyway."""


@dataclass
class _Load:
    client: EloquaClient
    lake: Lake
    payload: Payload
    run_date: str
    options: LoadOptions
    on_step: Step

    def __post_init__(self) -> None:
        layout = self.lake.layout
        self.receipt_url = layout.loaded_receipt(self.payload.pipeline, self.run_date)
        self.dataset_url = layout.import_ready(self.payload.pipeline, self.run_date)
        self.rejects_url = layout.rejects(self.payload.pipeline, self.run_date)
        self.state_url = state_url(self.lake, self.payload.pipeline, self.run_date)
        self.zone = self.options.timezone or instance_timezone()
        self.name = definition_name(self.payload.pipeline, self.run_date)

    # -------------------------------------------------------------- state

    def save(self, state: dict[str, Any], **changes: Any) -> None:
        state.update(changes, updated_at=_now())
        self.lake.write_json(self.state_url, state)

    def step(self, name: str, **details: Any) -> None:
        self.on_step(name, details)

    # -------------------------------------------------------------- run

    def run(self) -> dict[str, Any]:
        if self.lake.exists(self.receipt_url):
            return dict(self.lake.read_json(self.receipt_url))
        if not self.lake.is_complete(self.dataset_url):
            raise LoadError(f"payload {self.dataset_url} is not published (no _SUCCESS): run its pipeline and "
                            "gate first")
        state = self.lake.read_json(self.state_url, default=None) or {
            "format": STATE_FORMAT, "pipeline": self.payload.pipeline, "run_date": self.run_date,
            "phase": "new", "failed_syncs": [], "started_at": _now()}
        payload_rows = self._payload_rows()
        if payload_rows == 0 and not state.get("definition_uri"):
            return self._write_receipt(state, None, payload_rows, {}, 0)
        entity = import_entity(self.client, self.payload)
        fields = import_fields(self.client, self.payload, entity)
        if not state.get("definition_uri"):
            self._definition(state, entity, fields)
        self.step("definition", uri=state["definition_uri"])
        sync = self._recorded_or_adopted_sync(state)
        if sync is None:
            self._stage(state, payload_rows)
            sync = self._start_sync(state)
        final = self._wait(state, sync)
        self.step("sync_done", uri=final["uri"], status=final["status"])
        rejected = self._write_rejects(final, fields) if final["status"] == "warning" else 0
        counts = {str(e.get("statusCode")): int(e.get("count") or 0)
                  for e in self.client.sync_logs(final["uri"]) if e.get("statusCode")}
        return self._write_receipt(state, final, payload_rows, counts, rejected)

    def _payload_rows(self) -> int:
        fs, path = self.lake.fs_path(self.dataset_url)
        with self.lake.io_errors(self.dataset_url, "read"):
            return int(pads.dataset(path, filesystem=fs, format="parquet").count_rows())

    def _batches(self) -> Iterator[pa.RecordBatch]:
        fs, path = self.lake.fs_path(self.dataset_url)
        with self.lake.io_errors(self.dataset_url, "read"):
            dataset = pads.dataset(path, filesystem=fs, format="parquet")
            missing = [c for c in self.payload.column_names if c not in dataset.schema.names]
            if missing:
                raise LoadError(f"payload {self.dataset_url} lacks the column(s) {', '.join(missing)}: "
                                "rebuild it with the contract's columns")
            # Read file after file with nothing read ahead: the upload is slower than the reads, and Arrow's
            # scanner would queue the payload's batches in memory while it waits.
            yield from read_batches(fs, dataset.files, columns=list(self.payload.column_names),
                                    batch_rows=self.options.batch_rows)

    def _definition(self, state: dict[str, Any], entity: str, fields: dict[str, str]) -> None:
        """Find the definition by its name (a run killed before recording it made one), else create it."""
        wanted = import_definition(self.payload, fields, self.name, self.options.data_retention)
        found = [d for d in self.client.iter_items(f"/{entity}/imports", params={"q": f"name='{self.name}'"})
                 if d.get("name") == self.name and d.get("fields") == wanted["fields"]
                 and d.get("identifierFieldName") == self.payload.identifier]
        if found:
            uri = str(min(found, key=lambda d: int(uri_id(str(d["uri"]))))["uri"])
            self.save(state, definition_uri=uri, phase="defined", adopted_definition=True)
            return
        self.save(state, phase="defining")
        created = self.client.create_import(entity, wanted)
        self.save(state, definition_uri=str(created["uri"]), phase="defined")
        log.info("load %s %s: import definition %s", self.payload.pipeline, self.run_date, created["uri"])

    def _recorded_or_adopted_sync(self, state: dict[str, Any]) -> dict[str, Any] | None:
        """The sync to follow instead of staging: the recorded one, or one of the definition's syncs that is
        not known to have failed (a run killed before recording its sync, or a lost state file)."""
        failed = set(state.get("failed_syncs") or [])
        if state.get("sync_uri") and state["sync_uri"] not in failed:
            return self.client.get_sync(state["sync_uri"])
        if state.get("phase") in ("defining", "defined", "staging") and not state.get("adopted_definition"):
            return None  # no POST /syncs was ever sent for this definition
        syncs = self.client.syncs_of(state["definition_uri"]) or []
        live = [s for s in syncs if s.get("uri") not in failed and s.get("status") != "error"]
        if not live:
            return None
        # Eloqua runs one sync per definition at a time and this load starts at most one per staging: the
        # newest live one holds the data.
        sync = max(live, key=lambda s: int(uri_id(str(s["uri"]))))
        log.warning("load %s %s: adopting %s of %s, started by an earlier run", self.payload.pipeline,
                    self.run_date, sync["uri"], state["definition_uri"])
        self.save(state, sync_uri=str(sync["uri"]), phase="syncing")
        return sync

    def _stage(self, state: dict[str, Any], payload_rows: int) -> None:
        """Post every row once, from an empty staging area; restart from scratch after an ambiguous post."""
        definition = state["definition_uri"]
        for attempt in range(1, self.options.max_restages + 2):
            self.save(state, phase="staging", chunks_posted=0, rows_posted=0, staging_attempt=attempt)
            # Whatever a killed run or a lost answer left staged goes first: no half- or twice-staged data.
            self.client.delete_import_data(definition)
            try:
                self._post_all(state, definition, payload_rows)
                self.save(state, phase="staged", staged_at=_now())
                return
            except _Ambiguous as exc:
                if attempt > self.options.max_restages:
                    raise LoadError(f"staging {self.payload.pipeline} {self.run_date} into {definition} failed "
                                    f"{attempt} times ({exc}): Eloqua is unwell; rerun the load later") from None
                delay = self.client.retry.delay(attempt)
                log.warning("load %s %s: a data post may have been staged without an answer (%s); deleting "
                            "the staged data and staging again in %.1fs", self.payload.pipeline,
                            self.run_date, exc, delay)
                time.sleep(delay)

    def _post_all(self, state: dict[str, Any], definition: str, payload_rows: int) -> None:
        chunks = serialise(self._batches(), self.payload, self.zone, self.options.transfer,
                           self.options.max_post_bytes)
        progress = progress_for(f"load {self.payload.pipeline} {self.run_date} {definition}", verb="staging")
        progress.start(payload_rows)
        try:
            self._post_chunks(state, definition, chunks, progress)
        finally:
            progress.close()

    def _post_chunks(self, state: dict[str, Any], definition: str, chunks: Iterable[Chunk],
                     progress: Progress) -> None:
        posted = rows = 0
        for chunk in chunks:
            if posted == self.options.max_posts:
                self.client.delete_import_data(definition)
                self.save(state, phase="defined", chunks_posted=0, rows_posted=0)
                raise LoadError(
                    f"payload {self.dataset_url} needs more than {self.options.max_posts} data posts of at most "
                    f"{self.options.max_post_bytes} bytes, more than one Eloqua import sync takes: check why "
                    "the payload is this large (payloads carry changes only)")
            self._post(definition, chunk)
            posted, rows = posted + 1, rows + chunk.rows
            self.save(state, chunks_posted=posted, rows_posted=rows)
            self.step("chunk", number=posted, rows=chunk.rows, bytes=len(chunk.body))
            progress.update(chunk.rows)

    def _post(self, definition: str, chunk: Chunk) -> None:
        policy = self.client.retry
        attempt = 0
        while True:
            attempt += 1
            try:
                self.client.post_import_data(definition, chunk.body, content_type=chunk.content_type,
                                             retry=_ONE_ATTEMPT)
                return
            except RetryExhausted as exc:
                # Eloqua throttles before it reads the body: a 429 staged nothing and is retried in place.
                if exc.last_status != 429 or attempt >= policy.max_attempts:
                    raise _Ambiguous(str(exc)) from None
                time.sleep(policy.delay(attempt))
            except EloquaUnreachable as exc:
                raise _Ambiguous(str(exc)) from None

    def _start_sync(self, state: dict[str, Any]) -> dict[str, Any]:
        self.save(state, phase="syncing")
        sync = self.client.create_sync(state["definition_uri"])
        self.step("sync_posted", uri=sync["uri"])
        self.save(state, sync_uri=str(sync["uri"]), sync_created_at=_now())
        self.step("sync_recorded", uri=sync["uri"])
        log.info("load %s %s: %d rows in %d posts, sync %s", self.payload.pipeline, self.run_date,
                 state["rows_posted"], state["chunks_posted"], sync["uri"])
        return sync

    def _wait(self, state: dict[str, Any], sync: dict[str, Any]) -> dict[str, Any]:
        try:
            return self.client.wait_for_sync(str(sync["uri"]), timeout=self.options.sync_timeout)
        except SyncFailed as exc:
            # The rerun stages again and starts a new sync: this one applied nothing.
            failed = [*state.get("failed_syncs", []), exc.sync_uri]
            self.save(state, failed_syncs=failed, sync_uri=None, phase="failed")
            raise

    # -------------------------------------------------------------- outputs

    def _write_rejects(self, sync: dict[str, Any], fields: Mapping[str, str]) -> int:
        names = list(fields)
        schema = pa.schema([*(pa.field(n, pa.string()) for n in names),
                            pa.field("message", pa.string()), pa.field("statusCode", pa.string()),
                            pa.field("recordIndex", pa.int64()), pa.field("invalidFields", pa.list_(pa.string()))])
        written = 0
        with self.lake.atomic_dataset(self.rejects_url) as staging:
            fs, path = self.lake.fs_path(staging)
            with self.lake.io_errors(self.rejects_url, "write"), \
                    pq.ParquetWriter(f"{path}/part-0000000000.parquet", schema, filesystem=fs) as writer:
                page: list[dict[str, Any]] = []
                for item in self.client.iter_rejects(str(sync["uri"]), limit=MAX_LIST_LIMIT):
                    values = item.get("fieldValues") or {}
                    page.append({**{n: values.get(n) for n in names}, "message": item.get("message"),
                                 "statusCode": item.get("statusCode"),
                                 "recordIndex": item.get("recordIndex"),
                                 "invalidFields": list(item.get("invalidFields") or [])})
                    if len(page) == MAX_LIST_LIMIT:
                        writer.write_table(pa.Table.from_pylist(page, schema))
                        written, page = written + len(page), []
                writer.write_table(pa.Table.from_pylist(page, schema))
                written += len(page)
        log.warning("load %s %s: Eloqua rejected %d rows; see %s", self.payload.pipeline, self.run_date,
                    written, self.rejects_url)
        return written

    def _write_receipt(self, state: dict[str, Any], sync: dict[str, Any] | None, payload_rows: int,
                       counts: Mapping[str, int], rejected: int) -> dict[str, Any]:
        staged = int(counts.get(STAGED_LOG, state.get("rows_posted", 0)))
        receipt = {
            "format": RECEIPT_FORMAT,
            "pipeline": self.payload.pipeline,
            "run_date": self.run_date,
            "payload": self.dataset_url,
            "payload_rows": payload_rows,
            "definition_uri": state.get("definition_uri"),
            "sync_uri": sync["uri"] if sync else None,
            "status": sync["status"] if sync else "empty",
            "transfer": self.options.transfer,
            "chunks_posted": state.get("chunks_posted", 0),
            "rows_staged": staged,
            "rows_rejected": rejected,
            "rows_loaded": staged - rejected,
            "rejects": self.rejects_url if rejected else None,
            "log_counts": dict(sorted(counts.items())),
            "timezone": self.zone.key,
            "started_at": state.get("started_at"),
            "staged_at": state.get("staged_at"),
            "sync_created_at": (sync or {}).get("createdAt"),
            "sync_started_at": (sync or {}).get("syncStartedAt"),
            "sync_ended_at": (sync or {}).get("syncEndedAt"),
            "failed_syncs": state.get("failed_syncs", []),
            "loaded_at": _now(),
        }
        self.lake.write_json(self.receipt_url, receipt)
        self.lake.delete(self.state_url)
        return receipt


def load_payload(client: EloquaClient, lake: Lake, payload: Payload, run_date: dt.date | str, *,
                 options: LoadOptions | None = None, on_step: Step | None = None) -> dict[str, Any]:
    """Load ``import_ready/<pipeline>/run_date=D`` into Eloqua once; return its receipt (see the module doc).

    Raises SyncFailed when the sync ends in ``error`` (a rerun stages again), SyncTimeout when it does not end
    in time (a rerun follows the same sync), LoadError when the payload is missing or too large.
    """
    load = _Load(client, lake, payload, day(run_date), options or LoadOptions(),
                 on_step or (lambda _step, _details: None))
    return load.run()


__all__ = [
    "MAX_POSTS_PER_SYNC",
    "TRANSFERS",
    "Chunk",
    "LoadError",
    "LoadOptions",
    "Step",
    "Transfer",
    "definition_name",
    "import_definition",
    "import_entity",
    "import_fields",
    "load_payload",
    "serialise",
    "state_url",
]
