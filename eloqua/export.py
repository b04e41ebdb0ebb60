"""Bulk exports into Parquet: create the definition and sync, then stream the sync's pages into part files.

    started = start_export(client, CONTACTS, filter=window_filter("{{Contact.UpdatedAt}}", start, end))
    client.wait_for_sync(started.sync_uri, accept_warning=False)
    result = export_to_parquet(client, started.sync_uri, arrow_schema(CONTACTS), fs, "/lake/_tmp/contacts")

(``window_filter`` is :func:`eloqua.windows.window_filter`; the resumable run around these steps, with its state,
manifest and publication, is :mod:`eloqua.exports`.)

Each page of ``/syncs/{id}/data`` is parsed by Arrow's JSON reader (C++, outside the GIL, no per-row Python
objects), or with ``transfer="csv"`` fetched as ``Accept: text/csv`` and parsed by Arrow's CSV reader (same
strings, same conversions, the same typed table), typed with the contract schema and written as its own
``part-<offset:010d>.parquet``: atomically
(temp name, then move; on object stores the single PUT is atomic). Part files that already exist are kept and
their pages are not fetched again, so a killed export resumes without losing or duplicating a row. Several
pages are in flight at once, never more than ``concurrency``: memory depends on the page size, not the export
size.

Types: '' -> null; ``int`` from digits (``12.0`` accepted); ``boolean`` from true/false/1/0; ``timestamp``
from Eloqua's ``YYYY-MM-DD HH:MM:SS[.fffffff]`` to ``timestamp[us, tz=UTC]``: system timestamps are UTC
(``areSystemTimestampsInUTC``), the contract's ``instance_time`` columns are local times of the instance's
time zone (``eloqua.settings.instance_timezone``) converted to UTC here. Day windows are UTC:
:func:`window_filter` writes the bounds of a window on an instance-time field in that zone.
"""

from __future__ import annotations

import csv
import datetime as dt
import json
import logging
import os
import re
import threading
import time
import uuid
from collections.abc import Callable, Iterable, Mapping
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from datetime import tzinfo
from typing import Any, Literal

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv
import pyarrow.fs as pafs
import pyarrow.json as pajson
import pyarrow.parquet as pq

from contract.objects import EloquaObject, LogicalType
from eloqua.client import MAX_DATA_LIMIT, EloquaClient, uri_id
from eloqua.errors import ConversionError, EloquaError, ExportIncomplete, MalformedResponse, one_line
from eloqua.progress import NullProgress, Progress, progress_for
from eloqua.settings import instance_timezone

log = logging.getLogger(__name__)

PART_PREFIX = "part-"
PART_RE = re.compile(r"^part-(\d{10})\.parquet$")
TMP_PREFIX = ".tmp-part-"
UTC_US = pa.timestamp("us", tz="UTC")
INSTANCE_TIME_ZONE = b"eloqua.instance_time_zone"

_ARROW_TYPES: dict[str, pa.DataType] = {
    "string": pa.string(),
    "int": pa.int64(),
    "timestamp": UTC_US,
    "boolean": pa.bool_(),
}


def arrow_type(logical: LogicalType) -> pa.DataType:
    """The raw-zone Arrow type of a contract logical type."""
    return _ARROW_TYPES[logical]


def arrow_schema(obj: EloquaObject, timezone: tzinfo | str | None = None) -> pa.Schema:
    """The raw Parquet schema of ``obj``: its contract columns in order, all nullable.

    Columns Eloqua prints in the instance's time zone (``instance_time``) carry that zone (``timezone``, by
    default :func:`eloqua.settings.instance_timezone`) in their field metadata, so the page decoders read
    them as local times and store UTC; the decoded tables and part files carry no such metadata. A UTC
    instance needs no conversion and gets a schema without metadata.
    """
    name = str(timezone if timezone is not None else instance_timezone())
    local = None if name.upper() in ("UTC", "ETC/UTC") else {INSTANCE_TIME_ZONE: name}
    return pa.schema([pa.field(c.name, arrow_type(c.type), nullable=True,
                               metadata=local if c.instance_time else None) for c in obj.columns])


def _without_metadata(schema: pa.Schema) -> pa.Schema:
    return pa.schema([f.remove_metadata() for f in schema]).remove_metadata()


def _instance_zone(target: pa.Field) -> str | None:
    """The time zone a column's values are printed in, when not UTC (see :func:`arrow_schema`)."""
    zone = (target.metadata or {}).get(INSTANCE_TIME_ZONE)
    return zone.decode() if zone else None


def part_name(offset: int) -> str:
    return f"{PART_PREFIX}{offset:010d}.parquet"


def offset_of(path: str) -> int:
    """The first row (sync offset) held by a part file, from its name."""
    match = PART_RE.match(path.rsplit("/", 1)[-1])
    if match is None:
        raise ValueError(f"{path} is not a part file")
    return int(match.group(1))


# --------------------------------------------------------------------------------------- page decoding


_ITEMS_KEY = re.compile(rb'"items"\s*:\s*\[')
_WHITESPACE = b" \t\r\n"


def item_boundaries(items: np.ndarray) -> np.ndarray | None:
    """Positions of the commas of ``"},{"`` in ``items`` (the bytes between ``[`` and ``]``), or None when
    one of them is preceded by a backslash: ``\\"},{"`` may sit inside a string value, so such a page is not
    split. Vectorised: a page holds ~1M bytes per 2,000 items, and a per-match Python loop cost a fifth of
    the page's parse."""
    # '}' with room for the pattern around it, looked for a block at a time: a page-sized temporary would
    # stay behind in malloc's arenas (glibc raises its mmap threshold after such a block is freed)
    block = 1 << 20
    closing = np.concatenate([np.flatnonzero(items[at:min(at + block, len(items) - 3)] == 0x7D) + at
                              for at in range(3, max(len(items) - 3, 3), block)] or [np.empty(0, np.intp)])
    found = closing[(items[closing + 1] == 0x2C) & (items[closing + 2] == 0x7B)
                    & (items[closing - 1] == 0x22) & (items[closing + 3] == 0x22)]
    if found.size and (items[found - 2] == 0x5C).any():
        return None
    return found + 1


class PageDecoder:
    """Turns one ``/syncs/{id}/data`` JSON body into a :class:`Page`: a table typed by ``schema``.

    Items are read as strings keyed by the schema's column names (extra keys ignored, missing keys null). A
    truncated or non-JSON body raises MalformedResponse (the client retries it).

    Fast path: Eloqua's items are flat objects of strings, so in a compact body the ``count - 1`` matches of
    ``"},{"`` separate the items. Turning those commas into newlines (in place, in the page's own buffer)
    makes ``items`` JSON lines, which Arrow parses in small blocks about twice as fast as one page-sized
    object. A wrong split always leaves a line ending inside a string, which Arrow rejects; such bodies, and
    any other shape, are parsed as one JSON object instead, then with ``json``.
    """

    def __init__(self, schema: pa.Schema, memory_pool: pa.MemoryPool | None = None) -> None:
        self.fields = list(schema)  # with the instance-time zones of arrow_schema, for the conversion
        self.schema = _without_metadata(schema)
        self.memory_pool = memory_pool
        item = pa.struct([pa.field(f.name, pa.string()) for f in schema])
        self._page_options = pajson.ParseOptions(
            explicit_schema=pa.schema([("totalResults", pa.int64()), ("count", pa.int64()),
                                       ("items", pa.list_(item))]),
            unexpected_field_behavior="ignore")
        self._line_options = pajson.ParseOptions(
            explicit_schema=pa.schema([pa.field(f.name, pa.string()) for f in schema]),
            unexpected_field_behavior="ignore")

    def decode(self, body: bytes | bytearray | pa.Buffer, offset: int = 0) -> Page:
        page = self._decode_lines(body, offset)
        if page is not None:
            return page
        return self._decode_object(body, offset)

    def _decode_lines(self, body: bytes | bytearray | pa.Buffer, offset: int) -> Page | None:
        if isinstance(body, bytes):
            return None  # immutable: the fast path rewrites the buffer
        view = memoryview(body).cast("B")
        if view.readonly:
            return None
        head = bytes(view[:4096])
        key = _ITEMS_KEY.search(head)
        end = len(view)
        while end and view[end - 1] in _WHITESPACE:
            end -= 1
        if key is None or end < 2 or bytes(view[end - 2:end]) != b"]}":
            return None  # no items (an empty page) or items not last: the general path handles it
        try:
            meta = json.loads(head[:key.start()].rstrip().rstrip(b",") + b"}")
        except ValueError:
            return None
        if not isinstance(meta, dict):
            return None
        start, end = key.end(), end - 2
        items = np.frombuffer(view[start:end], np.uint8)  # writable: shares the page's buffer
        commas = item_boundaries(items)
        if commas is None or not commas.size or (
                meta.get("count") is not None and commas.size + 1 != meta["count"]):
            return None  # a value holding '"},{"' or a non-string value: splitting would be wrong
        items[commas] = 0x0A  # ',' -> '\n'
        buffer = body if isinstance(body, pa.Buffer) else pa.py_buffer(body)
        try:
            table = pajson.read_json(
                pa.BufferReader(buffer.slice(start, end - start)),
                read_options=pajson.ReadOptions(block_size=1 << 20, use_threads=False),
                parse_options=self._line_options, memory_pool=self.memory_pool)
        except pa.ArrowInvalid:
            items[commas] = 0x2C  # give the general path its body back
            return None
        if table.num_rows != commas.size + 1:
            return None
        typed = self._typed([table.column(f.name) for f in self.schema], offset)
        count = meta.get("count")
        return Page(offset=offset, total=meta.get("totalResults"),
                    count=typed.num_rows if count is None else int(count), table=typed)

    def _decode_object(self, body: bytes | bytearray | pa.Buffer, offset: int) -> Page:
        try:
            # one block holding the whole page: the page is one JSON object, not JSON lines
            table = pajson.read_json(
                pa.BufferReader(body if isinstance(body, pa.Buffer) else pa.py_buffer(body)),
                read_options=pajson.ReadOptions(block_size=max(len(body) + 1, 1 << 16), use_threads=False),
                parse_options=self._page_options, memory_pool=self.memory_pool)
        except pa.ArrowInvalid:
            return self._decode_python(body, offset)
        if table.num_rows != 1:
            raise MalformedResponse(f"sync data page at offset {offset} is not one JSON object")
        total = table.column("totalResults")[0].as_py()
        count = table.column("count")[0].as_py()
        items = table.column("items").combine_chunks(memory_pool=self.memory_pool)
        if items.null_count:
            strings = [pa.nulls(0, pa.string())] * len(self.schema)
        else:
            strings = items.flatten().flatten(memory_pool=self.memory_pool)
        del table, items
        typed = self._typed(strings, offset)
        return Page(offset=offset, total=total, count=typed.num_rows if count is None else count, table=typed)

    def _decode_python(self, body: bytes | bytearray | pa.Buffer, offset: int) -> Page:
        # Arrow refused the body: either it is not JSON (truncated: retry) or values are not strings.
        try:
            page = json.loads(body.to_pybytes() if isinstance(body, pa.Buffer) else body)
        except ValueError:
            raise MalformedResponse(
                f"sync data page at offset {offset} is not complete JSON ({len(body)} bytes)") from None
        if not isinstance(page, dict):
            raise MalformedResponse(
                f"sync data page at offset {offset} is {type(page).__name__}, not an object")
        items = page.get("items") or []
        strings = []
        for f in self.schema:
            values = [row.get(f.name) for row in items]
            strings.append(pa.array([None if v is None else _as_text(v) for v in values], pa.string()))
        typed = self._typed(strings, offset)
        count = page.get("count")
        return Page(offset=offset, total=page.get("totalResults"),
                    count=typed.num_rows if count is None else int(count), table=typed)

    def _typed(self, columns: list[pa.Array | pa.ChunkedArray], offset: int) -> pa.Table:
        typed = [pa.chunked_array(self._convert(column, f, offset), type=f.type)
                 for column, f in zip(columns, self.fields, strict=True)]
        return pa.Table.from_arrays(typed, schema=self.schema)

    def _convert(self, column: pa.Array | pa.ChunkedArray, target: pa.Field, offset: int) -> list[pa.Array]:
        chunks = column.chunks if isinstance(column, pa.ChunkedArray) else [column]
        converted = []
        for chunk in chunks:
            converted.append(convert_column(chunk, target, offset, self.memory_pool))
            offset += len(chunk)
        return converted


class CsvPageDecoder:
    """Turns one ``Accept: text/csv`` body of ``/syncs/{id}/data`` (a header row of the definition's field
    names, then RFC 4180 lines) into a :class:`Page` typed by ``schema``, exactly as :class:`PageDecoder` types
    the same rows sent as JSON.

    Every value is read as a string (quoted or not, '' stays '') and goes through the JSON path's
    conversions ('' -> null for every type). Columns are matched by header name: extra ones ignored, missing
    ones null. A CSV page carries no ``totalResults``: ``Page.total`` is None and ``count`` is the rows read,
    so the caller must know how many rows to expect (a body cut at a line end is otherwise well-formed CSV).
    A body Arrow cannot read, or one ending inside a quoted value (an odd number of ``"``), raises
    MalformedResponse (retried); one whose header names none of the schema's columns (not CSV, or another
    export) raises EloquaError. Unlike JSON, a body cut inside an unquoted value of its last row cannot be
    told from a complete one: the transport's framing (Content-Length, chunked encoding) guards that.
    """

    def __init__(self, schema: pa.Schema, memory_pool: pa.MemoryPool | None = None,
                 block_size: int = 1 << 22) -> None:
        self.schema = schema
        self.memory_pool = memory_pool
        self.block_size = block_size
        self._typer = PageDecoder(schema, memory_pool)
        self._parse_options = pacsv.ParseOptions(newlines_in_values=True)  # quoted CR/LF inside values
        self._convert_options = pacsv.ConvertOptions(
            column_types={f.name: pa.string() for f in schema},
            strings_can_be_null=False, quoted_strings_can_be_null=False,
            include_columns=schema.names, include_missing_columns=True)

    def decode(self, body: bytes | bytearray | pa.Buffer, offset: int = 0) -> Page:
        buffer = body if isinstance(body, pa.Buffer) else pa.py_buffer(body)
        header = self._header(buffer, offset)
        if self.schema.names and not set(header) & set(self.schema.names):
            raise EloquaError(
                f"sync data page at offset {offset} is not CSV with the export's columns (header "
                f"{one_line(','.join(header), 120)!r}): read it as JSON (transfer='json')")
        if np.count_nonzero(np.frombuffer(buffer, np.uint8) == 0x22) % 2:
            # Arrow reads a quoted value left open at the end as if closed: a body cut there would pass
            raise MalformedResponse(
                f"sync data page at offset {offset} ends inside a quoted value ({len(buffer)} bytes): cut short")
        try:
            table = pacsv.read_csv(
                pa.BufferReader(buffer),
                read_options=pacsv.ReadOptions(use_threads=False, block_size=self.block_size),
                parse_options=self._parse_options, convert_options=self._convert_options,
                memory_pool=self.memory_pool)
        except pa.ArrowInvalid as exc:
            raise MalformedResponse(
                f"sync data page at offset {offset} is not complete CSV ({len(buffer)} bytes):"
                f" {one_line(str(exc), 200)}") from None
        typed = self._typer._typed([table.column(f.name) for f in self.schema], offset)
        return Page(offset=offset, total=None, count=typed.num_rows, table=typed)

    @staticmethod
    def _header(buffer: pa.Buffer, offset: int) -> list[str]:
        head = memoryview(buffer)[:65536].tobytes()
        end = head.find(b"\n")
        line = head if end < 0 else head[:end]
        try:
            text = line.decode("utf-8-sig")
        except UnicodeDecodeError:
            raise MalformedResponse(f"sync data page at offset {offset} has a header that is not UTF-8") from None
        return next(csv.reader([text.rstrip("\r")]), [])


Transfer = Literal["json", "csv"]
TRANSFERS: tuple[str, ...] = ("json", "csv")


def page_decoder(schema: pa.Schema, transfer: Transfer = "json",
                 memory_pool: pa.MemoryPool | None = None) -> PageDecoder | CsvPageDecoder:
    """The decoder of ``/syncs/{id}/data`` bodies sent as ``transfer`` (``json`` or ``csv``)."""
    if transfer == "json":
        return PageDecoder(schema, memory_pool)
    if transfer == "csv":
        return CsvPageDecoder(schema, memory_pool)
    raise ValueError(f"transfer {transfer!r} is neither 'json' nor 'csv'")


def _as_text(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


@dataclass
class Page:
    """One decoded page: its sync offset, the sync's ``totalResults``, the page's ``count`` and typed rows."""

    offset: int
    total: int | None
    count: int
    table: pa.Table


_EMPTY = pa.scalar("", pa.string())
_NULL_STRING = pa.scalar(None, pa.string())
_FALSE = pa.scalar(False)


def convert_column(strings: pa.Array, target: pa.Field, offset: int = 0,
                   memory_pool: pa.MemoryPool | None = None) -> pa.Array:
    """One column of Eloqua strings -> ``target.type``; '' is null. ConversionError names the first bad
    value. A timestamp column whose field names an instance time zone (:func:`arrow_schema`) holds local
    times: they are converted to UTC, a repeated local time (the hour the clock falls back) read as its first
    occurrence, as Eloqua's text carries no offset to tell them apart."""
    converted = _try_convert(strings, target.type, memory_pool, _instance_zone(target))
    if converted is not None:
        return converted
    raise _conversion_error(strings, target, offset)


def _blank_to_null(strings: pa.Array, pool: pa.MemoryPool | None) -> pa.Array:
    """``strings`` with '' as null, sharing the string data (only a new validity bitmap is built)."""
    valid = pc.coalesce(pc.not_equal(strings, _EMPTY, memory_pool=pool), _FALSE, memory_pool=pool)
    if strings.offset == 0 and valid.offset == 0 and pa.types.is_string(strings.type):
        return pa.Array.from_buffers(strings.type, len(strings),
                                     [valid.buffers()[1], strings.buffers()[1], strings.buffers()[2]])
    return pc.if_else(valid, strings, _NULL_STRING, memory_pool=pool)


def _try_convert(strings: pa.Array, kind: pa.DataType, pool: pa.MemoryPool | None = None,
                 zone: str | None = None) -> pa.Array | None:
    """``strings`` as ``kind`` ('' -> null), or None when some value does not convert; timestamps without an
    offset are wall times in ``zone`` (None: UTC)."""
    if len(strings) == 0:
        return pa.array([], kind)
    if not pa.types.is_string(strings.type):  # a lenient server sent JSON numbers or booleans
        strings = pc.cast(strings, pa.string(), memory_pool=pool)
    values = _blank_to_null(strings, pool)
    if pa.types.is_string(kind):
        return values

    def cast(array: pa.Array, to: pa.DataType) -> pa.Array:
        return pc.cast(array, to, memory_pool=pool)

    def trimmed() -> pa.Array:
        return pc.utf8_trim_whitespace(values, memory_pool=pool)

    if pa.types.is_integer(kind):
        attempts = [lambda: cast(values, kind),
                    lambda: cast(trimmed(), kind),
                    # numeric fields sometimes export as "12.0"; a fraction still fails the safe cast
                    lambda: cast(cast(trimmed(), pa.float64()), kind)]
    elif pa.types.is_boolean(kind):
        attempts = [lambda: cast(values, kind),
                    lambda: cast(pc.utf8_lower(trimmed(), memory_pool=pool), kind)]
    elif pa.types.is_timestamp(kind):
        naive, aware = pa.timestamp(kind.unit), pa.timestamp(kind.unit, tz="UTC")

        def short() -> pa.Array:  # Eloqua may write 7 fractional digits; Arrow parses at most 6
            return pc.replace_substring_regex(trimmed(), r"(\.\d{6})\d+", r"\1", memory_pool=pool)

        def located(wall: pa.Array) -> pa.Array:  # naive wall times in ``zone`` -> ``kind`` (UTC)
            if zone is None:
                return cast(wall, kind)
            return cast(pc.assume_timezone(wall, timezone=zone, ambiguous="earliest", nonexistent="latest",
                                           memory_pool=pool), kind)

        attempts = [lambda: located(cast(values, naive)),  # 'YYYY-MM-DD HH:MM:SS[.fff]'
                    lambda: located(cast(short(), naive)),
                    lambda: cast(cast(short(), aware), kind)]  # values carrying Z or an offset
    else:
        raise TypeError(f"unsupported raw column type {kind}")
    for attempt in attempts:
        try:
            return attempt()
        except pa.ArrowInvalid:
            continue
    return None


_EXPECTED = {"int": "an integer", "bool": "true/false/1/0", "timestamp": "a timestamp 'YYYY-MM-DD HH:MM:SS'"}


def _conversion_error(strings: pa.Array, target: pa.Field, offset: int) -> ConversionError:
    bad_index, bad_value = -1, None
    for i, value in enumerate(strings.to_pylist()):
        if value is not None and _try_convert(pa.array([value], pa.string()), target.type) is None:
            bad_index, bad_value = i, value
            break
    kind = target.type
    expected = next((text for key, text in _EXPECTED.items() if str(kind).startswith(key)), str(kind))
    where = f" (row {offset + bad_index} of the sync)" if bad_index >= 0 else ""
    return ConversionError(f"column {target.name!r} has value {one_line(bad_value, 60)!r}{where}, expected "
                           f"{expected}: check the export definition's statement for {target.name}")


# ------------------------------------------------------------------------------------------ part files


@dataclass(frozen=True)
class ExistingPart:
    offset: int
    rows: int
    path: str


def _is_object_store(filesystem: pafs.FileSystem) -> bool:
    fs = filesystem
    while isinstance(fs, pafs.SubTreeFileSystem):
        fs = fs.base_fs
    name = fs.type_name.lower()
    return any(store in name for store in ("s3", "gcs", "abfs", "azure"))


def scan_parts(filesystem: pafs.FileSystem, staging_dir: str) -> list[ExistingPart]:
    """Readable ``part-*.parquet`` files in ``staging_dir`` (row counts from their footers), sorted by offset.

    Leftover temp files and unreadable parts (a crash on a non-atomic store) are deleted so they are
    refetched.
    """
    infos = filesystem.get_file_info(pafs.FileSelector(staging_dir, allow_not_found=True))
    parts = []
    for info in infos:
        if info.type != pafs.FileType.File:
            continue
        if info.base_name.startswith(TMP_PREFIX):
            filesystem.delete_file(info.path)
            continue
        match = PART_RE.match(info.base_name)
        if not match:
            continue
        try:
            with filesystem.open_input_file(info.path) as handle:
                rows = pq.ParquetFile(handle).metadata.num_rows
        except (OSError, pa.ArrowInvalid):
            log.warning("deleting unreadable part file %s; its page will be fetched again", info.path)
            filesystem.delete_file(info.path)
            continue
        parts.append(ExistingPart(offset=int(match.group(1)), rows=rows, path=info.path))
    return sorted(parts, key=lambda p: p.offset)


def write_part(filesystem: pafs.FileSystem, staging_dir: str, offset: int, table: pa.Table | pa.RecordBatch,
               compression: str = "snappy") -> str:
    """Write ``table`` as ``staging_dir/part-<offset>.parquet``, visible only once complete; returns its
    path."""
    final = f"{staging_dir.rstrip('/')}/{part_name(offset)}"
    if isinstance(table, pa.RecordBatch):
        table = pa.Table.from_batches([table])
    if _is_object_store(filesystem):
        pq.write_table(table, final, filesystem=filesystem, compression=compression)
        return final
    temp = f"{staging_dir.rstrip('/')}/{TMP_PREFIX}{offset:010d}-{uuid.uuid4().hex}.parquet"
    try:
        pq.write_table(table, temp, filesystem=filesystem, compression=compression)
        filesystem.move(temp, final)
    except BaseException:
        try:
            filesystem.delete_file(temp)
        except OSError:
            pass
        raise
    return final


# The day split holds up to this many bytes of a range's rows (Arrow's in-memory size) before it writes the
# day holding the most as one row group of that day's file: bounded memory whatever the range's size, at the
# price of several row groups per day (bench/README.md, "The range split").
SPLIT_BUFFER_BYTES = 32 << 20


@dataclass(frozen=True)
class DaySplit:
    """What :func:`split_by_day` wrote: rows per day (every day of the range, empty ones too) and the rows it
    left out because their date was missing or outside the range."""

    day_rows: dict[dt.date, int]
    outside: int


def split_by_day(batches: Iterable[pa.RecordBatch], schema: pa.Schema, date_column: str, days: list[dt.date],
                 directory: str, buffer_bytes: int = SPLIT_BUFFER_BYTES) -> DaySplit:
    """Write the rows of ``batches`` as ``directory/<day>/part-0000000000.parquet``, one file per day of
    ``days`` (consecutive; the UTC day of ``date_column``), a day without rows as a file of no rows.

    One pass with every day's file open: rows are buffered per day and, whenever the buffers pass
    ``buffer_bytes``, the largest is written out as a row group, so memory is the buffer plus one batch
    however many rows and days the range holds. The files are local (``directory``): an object store would
    hold every open file's bytes until it is closed.
    """
    first = days[0].toordinal() - dt.date(1970, 1, 1).toordinal()  # date32 counts days since the epoch
    writers: dict[int, pq.ParquetWriter] = {}
    buffered: dict[int, list[pa.RecordBatch]] = {}
    buffered_bytes: dict[int, int] = {}
    day_rows = [0] * len(days)
    outside = 0

    def day_file(index: int) -> pq.ParquetWriter:
        if index not in writers:
            folder = os.path.join(directory, days[index].isoformat())
            os.makedirs(folder, exist_ok=True)
            writers[index] = pq.ParquetWriter(os.path.join(folder, part_name(0)), schema)
        return writers[index]

    def write(index: int) -> None:
        day_file(index).write_table(pa.Table.from_batches(buffered.pop(index), schema))
        del buffered_bytes[index]

    try:
        for batch in batches:
            epoch_days = pc.cast(pc.cast(batch.column(date_column), pa.date32()), pa.int32())
            index = pc.fill_null(epoch_days, -1).to_numpy() - first  # a missing date lands below the range
            inside = (index >= 0) & (index < len(days))
            outside += int(batch.num_rows - np.count_nonzero(inside))
            order = np.argsort(np.where(inside, index, len(days)), kind="stable")
            counts = np.bincount(index[inside], minlength=len(days))
            start = 0
            for day in np.flatnonzero(counts):
                rows = int(counts[day])
                part = batch.take(pa.array(order[start:start + rows]))  # compact: not a view of the batch
                start += rows
                day_rows[day] += rows
                buffered.setdefault(int(day), []).append(part)
                buffered_bytes[int(day)] = buffered_bytes.get(int(day), 0) + part.nbytes
            while buffered_bytes and sum(buffered_bytes.values()) > buffer_bytes:
                write(max(buffered_bytes, key=buffered_bytes.__getitem__))
        for index in list(buffered):
            write(index)
        for index in range(len(days)):
            day_file(index)  # a day without rows still gets its file: readers see the schema
    finally:
        for writer in writers.values():
            writer.close()
    return DaySplit(dict(zip(days, day_rows, strict=True)), outside)


def _missing_ranges(parts: list[ExistingPart], total: int, staging_dir: str) -> list[tuple[int, int]]:
    """The ``(start, end)`` row ranges not covered by ``parts``; parts must tile inside ``[0, total)``."""
    gaps = []
    position = 0
    for part in parts:
        end = part.offset + part.rows
        if part.offset < position or end > total or (part.rows == 0 and total > 0):
            raise ExportIncomplete(
                f"part file {part.path} ({part.rows} rows at offset {part.offset}) does not fit the sync's "
                f"{total} rows (left from another sync?): empty {staging_dir} and rerun")
        if part.offset > position:
            gaps.append((position, part.offset))
        position = end
    if position < total:
        gaps.append((position, total))
    return gaps


# ------------------------------------------------------------------------------------------ the export


@dataclass
class ExportResult:
    """What :func:`export_to_parquet` did. ``parts`` lists every part file of the export (kept and new)."""

    sync_uri: str
    total_rows: int
    parts: list[str]
    pages_fetched: int
    pages_skipped: int
    rows_fetched: int
    seconds: float
    schema: pa.Schema = field(repr=False, default_factory=lambda: pa.schema([]))


def decode_pool() -> pa.MemoryPool | None:
    """Arrow's jemalloc pool set to return freed memory at once, or None (the default pool) without jemalloc.

    Parsing a page briefly needs a few times its size; the default mimalloc pool keeps such peaks per thread,
    which made a 3-page-wide export hold several hundred MiB it no longer used.
    """
    try:
        pool = pa.jemalloc_memory_pool()
        pa.jemalloc_set_decay_ms(0)
    except NotImplementedError:  # a pyarrow build without jemalloc
        return None
    return pool


PageCallback = Callable[[int, int, str], None]
"""Called as ``(offset, rows, part_path)`` after each new part file is in place (from worker threads)."""


def export_to_parquet(
    client: EloquaClient,
    sync_uri: str,
    schema: pa.Schema,
    filesystem: pafs.FileSystem,
    staging_dir: str,
    *,
    page_size: int = MAX_DATA_LIMIT,
    concurrency: int = 3,
    progress: Progress | None = None,
    completed_pages: PageCallback | None = None,
    compression: str = "snappy",
    decoders: int | None = None,
    transfer: Transfer = "json",
) -> ExportResult:
    """Stream every row of the finished export sync ``sync_uri`` into ``staging_dir/part-<offset>.parquet``
    files.

    ``staging_dir`` is a path on ``filesystem`` (created if needed) reserved for this sync. Pages whose part
    file exists are not fetched again; the result covers exactly ``totalResults`` rows, else ExportIncomplete.
    An export of zero rows writes one empty part so readers still see the schema. ``progress`` defaults to a
    bar on a terminal / log lines otherwise. Publishing the folder (rename, ``_SUCCESS``) is the caller's job.
    Raises Expired when the sync's data is gone (start a new sync), ConversionError for values off-contract.

    ``concurrency`` bounds the pages in flight (downloading, waiting or parsed); ``decoders`` bounds the pages
    parsed at once (default: one per two CPUs, at least one), which is what bounds memory.

    ``transfer``: ``json`` (the default, Eloqua's well-trodden path) or ``csv`` (pages fetched with ``Accept:
    text/csv``, parsed by Arrow's CSV reader; the same part files, byte for byte). Either way ``totalResults``
    comes from one JSON probe and every page must hold exactly the rows expected from it. Part files are
    interchangeable: a resume may use the other transfer.
    """
    if not 1 <= page_size <= MAX_DATA_LIMIT:
        raise ValueError(f"page_size {page_size} is outside Eloqua's range 1..{MAX_DATA_LIMIT}")
    if concurrency < 1:
        raise ValueError("concurrency must be at least 1")
    if transfer not in TRANSFERS:
        raise ValueError(f"transfer {transfer!r} is neither 'json' nor 'csv'")
    started = time.monotonic()
    staging_dir = staging_dir.rstrip("/")
    filesystem.create_dir(staging_dir, recursive=True)
    memory_pool = decode_pool()
    decoder = page_decoder(schema, transfer, memory_pool)
    as_csv = transfer == "csv"
    decode_slots = threading.Semaphore(decoders or max(1, min(concurrency, (os.cpu_count() or 2) // 2)))
    progress = progress if progress is not None else progress_for(f"export {sync_uri}")

    probe = client.get_sync_data(sync_uri, limit=1, offset=0)
    total = probe.get("totalResults")
    if total is None:
        raise MalformedResponse(f"GET {sync_uri}/data answered without totalResults")
    total = int(total)

    parts = scan_parts(filesystem, staging_dir)
    gaps = _missing_ranges(parts, total, staging_dir)
    jobs = [(offset, min(page_size, end - offset))
            for begin, end in gaps for offset in range(begin, end, page_size)]
    kept_rows = sum(p.rows for p in parts)
    paths = {p.offset: p.path for p in parts}
    log.info("export %s: %d rows, %d part files kept (%d rows), %d pages to fetch",
             sync_uri, total, len(parts), kept_rows, len(jobs))
    progress.start(total, kept_rows)
    fetched_rows = 0

    def allocate(size: int) -> pa.Buffer | bytearray:
        # page bodies live in the same prompt-returning pool as their parse: ~20 MB each, they would
        # otherwise stay behind in per-thread malloc arenas
        return pa.allocate_buffer(size, memory_pool=memory_pool) if memory_pool else bytearray(size)

    def decode(body: bytes | bytearray | pa.Buffer, offset: int) -> Page:
        with decode_slots:
            try:
                return decoder.decode(body, offset)
            finally:
                # Arrow's JSON reader also allocates from the default pool, whose per-thread caches
                # would otherwise keep each page's parse peak
                pa.default_memory_pool().release_unused()

    def fetch(offset: int, limit: int) -> Page:
        page = client.get_sync_data_raw(sync_uri, limit=limit, offset=offset,
                                        parse=lambda body: decode(body, offset), allocate=allocate,
                                        csv=as_csv)
        rows = page.table.num_rows
        if rows != limit or page.count != rows:
            raise ExportIncomplete(
                f"sync {sync_uri} returned {rows} rows (count {page.count}) at offset {offset},"
                f" expected {limit}: the sync's data changed or expired; start a new sync")
        return page

    try:
        # Worker threads download and parse; this thread writes every part file (one Parquet writer's
        # buffers, not one per thread), reports progress and calls back, in completion order.
        with ThreadPoolExecutor(max_workers=concurrency, thread_name_prefix="eloqua-export") as workers:
            pending: set[Future[Page]] = set()
            queue = iter(jobs)
            error: BaseException | None = None
            while True:
                while error is None and len(pending) < concurrency:
                    job = next(queue, None)
                    if job is None:
                        break
                    pending.add(workers.submit(fetch, *job))
                if not pending:
                    break
                done, pending = wait(pending, return_when=FIRST_COMPLETED)
                for future in done:
                    if error is not None:
                        continue
                    try:
                        page = future.result()
                        path = write_part(filesystem, staging_dir, page.offset, page.table, compression)
                        rows = page.table.num_rows
                        del page
                        pa.default_memory_pool().release_unused()
                        progress.update(rows)
                        if completed_pages is not None:
                            completed_pages(offset_of(path), rows, path)
                    except BaseException as exc:  # first failure wins; running pages finish, none start
                        error = exc
                        continue
                    fetched_rows += rows
                    paths[offset_of(path)] = path
            if error is not None:
                raise error
        if total == 0 and not paths:
            paths[0] = write_part(filesystem, staging_dir, 0, _without_metadata(schema).empty_table(),
                                  compression)
    finally:
        progress.close()

    final_parts = scan_parts(filesystem, staging_dir)
    written = sum(p.rows for p in final_parts)
    if written != total or _missing_ranges(final_parts, total, staging_dir):
        raise ExportIncomplete(f"export of {sync_uri} holds {written} rows in {staging_dir}, but the sync has"
                               f" {total}: rerun the export (kept pages are reused)")
    return ExportResult(sync_uri=sync_uri, total_rows=total, parts=[p.path for p in final_parts],
                        pages_fetched=len(jobs), pages_skipped=len(parts), rows_fetched=fetched_rows,
                        seconds=time.monotonic() - started, schema=schema)


# ----------------------------------------------------------------------------------------- definitions


def export_entity(client: EloquaClient, obj: EloquaObject) -> str:
    """The export entity path: ``contacts``, ``activities`` or ``customObjects/{id}`` (CDO found by name)."""
    if obj.custom_object_name:
        return f"customObjects/{uri_id(client.find_custom_object(obj.custom_object_name)['uri'])}"
    if obj.name in ("contacts", "accounts", "activities"):
        return obj.name
    raise ValueError(f"{obj.name} is neither contacts, accounts, activities nor a custom object")


def definition_fields(client: EloquaClient, obj: EloquaObject, entity: str | None = None) -> dict[str, str]:
    """The definition's ``fields`` map: column name -> EML statement; CDO statements resolved through
    Eloqua."""
    fields: dict[str, str] = {}
    cdo_columns = [c for c in obj.columns if c.statement is None]
    if cdo_columns:
        entity = entity or export_entity(client, obj)
        resolved = client.resolve_statements(uri_id(entity), [c.cdo_field or c.name for c in cdo_columns])
    for column in obj.columns:
        fields[column.name] = column.statement or resolved[column.cdo_field or column.name]
    return fields


@dataclass(frozen=True)
class StartedExport:
    """A created definition and its running sync; record both to resume after a crash."""

    definition_uri: str
    sync_uri: str
    entity: str
    fields: Mapping[str, str]


def start_export(
    client: EloquaClient,
    obj: EloquaObject,
    *,
    filter: str | None = None,
    fields: Mapping[str, str] | None = None,
    name: str | None = None,
    data_retention: str = "P1D",
    auto_delete: str = "P3D",
    max_records: int | None = None,
) -> StartedExport:
    """Create an export definition for ``obj`` (UTC system timestamps, explicit retention) and start its sync.

    ``fields`` defaults to every contract column of ``obj``. Eloqua's 400 (e.g. an unknown field) raises
    ValidationError whose one-line message lists the failures.
    """
    entity = export_entity(client, obj)
    fields = dict(fields) if fields is not None else definition_fields(client, obj, entity)
    stamp = dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    definition: dict[str, Any] = {
        "name": (name or f"SCC {obj.name} {stamp}")[:100],
        "fields": fields,
        "areSystemTimestampsInUTC": True,
        "dataRetentionDuration": data_retention,
        "autoDeleteDuration": auto_delete,
    }
    if filter:
        definition["filter"] = filter
    if max_records is not None:
        definition["maxRecords"] = max_records
    created = client.create_export(entity, definition)
    sync = client.create_sync(created["uri"], new_definition=True)
    log.info("export %s: definition %s, sync %s", obj.name, created["uri"], sync["uri"])
    return StartedExport(definition_uri=created["uri"], sync_uri=sync["uri"], entity=entity, fields=fields)


__all__ = [
    "TRANSFERS",
    "CsvPageDecoder",
    "EloquaError",
    "ExportResult",
    "NullProgress",
    "PageDecoder",
    "StartedExport",
    "Transfer",
    "arrow_schema",
    "arrow_type",
    "convert_column",
    "definition_fields",
    "export_entity",
    "export_to_parquet",
    "page_decoder",
    "scan_parts",
    "start_export",
    "write_part",
]
