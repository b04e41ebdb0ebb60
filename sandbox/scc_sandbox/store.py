"""The sandbox's embedded store: one SQLite file per ``--data-dir`` plus staged export files.

Holds the entity rows (contacts, accounts, activities, custom objects), the API's own objects (definitions,
syncs, logs, rejects, staged import posts, OAuth tokens) and, as flat files, each export sync's staged rows:
every row is pre-encoded JSON followed by ``,`` in ``staged/<sync>.rows`` with an offsets index in
``staged/<sync>.idx``, so a page of ``/data`` is one read. The first ``Accept: text/csv`` read of a sync encodes
its rows once more as RFC 4180 CSV lines (``staged/<sync>.csv`` + ``.csvidx``), so CSV pages are one read too.
A restart with the same directory keeps everything;
syncs that were running are ended in ``error``. Activities are generated per (type, day) on first use and
cached here.
"""

from __future__ import annotations

import csv
import json
import os
import sqlite3
import struct
import threading
from array import array
from collections.abc import Callable, Generator, Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from pathlib import Path
from typing import Any

from scc_sandbox import synth
from scc_sandbox.catalog import (
    ACCOUNT_ENTITY,
    ACTIVITY_ENTITY,
    ALL_ENTITIES,
    CAMPAIGN_RESPONSE_ENTITY,
    CAMPAIGN_RESPONSES_CDO,
    CONTACT_ENTITY,
    EVENTS,
    SFDC_CAMPAIGNS_CDO,
    Entity,
    Field,
)
from scc_sandbox.clock import DEFAULT_TIMEZONE, Clock
from scc_sandbox.formats import midnight, utcnow

SCHEMA_VERSION = "3"
_INSTANCE_TIME_SQL = "scc_instance_time"
_SQL_TYPE = {"number": "NUMERIC", "boolean": "INTEGER"}


class StoreError(Exception):
    """The data directory cannot be used as asked (one line, says what to do)."""


def _q(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def export_sql(f: Field, instance_time: bool = False) -> str:
    """SQL that renders column ``f`` as the string an export prints; ``instance_time`` renders a date in the
    instance's time zone (the connection must come from :meth:`Store.connect`)."""
    col = value_sql(f)
    if instance_time and f.data_type == "date":
        return f"COALESCE({_INSTANCE_TIME_SQL}({col}), '')"
    if f.data_type == "boolean":
        return f"CASE WHEN {col} IS NULL THEN '' WHEN {col} THEN 'true' ELSE 'false' END"
    if f.data_type == "number":
        return (
            f"CASE WHEN {col} IS NULL THEN '' WHEN typeof({col}) = 'real' AND {col} = CAST({col} AS INTEGER) "
            f"THEN CAST(CAST({col} AS INTEGER) AS TEXT) ELSE CAST({col} AS TEXT) END"
        )
    return f"COALESCE(CAST({col} AS TEXT), '')"


def json_object_sql(pairs: Sequence[str]) -> str:
    """``json_object`` of ``'?, value'`` pairs, in chunks merged with ``json_patch``: SQLite caps a function's
    arguments (127 by default), and a definition may hold 250 fields."""
    chunks = [f"json_object({', '.join(pairs[i:i + 50])})" for i in range(0, len(pairs), 50)] or ["json_object()"]
    sql = chunks[0]
    for chunk in chunks[1:]:
        sql = f"json_patch({sql}, {chunk})"
    return sql


def value_sql(f: Field) -> str:
    """SQL of a field's stored value: its column, or for a linked field the other table's column."""
    return f"({f.source})" if f.source else _q(f.key)


@dataclass(frozen=True)
class StagedData:
    """An export sync's staged rows on disk: each row's bytes end with a separator of ``trim`` bytes that
    :meth:`page` drops after the last row (JSON rows end with ``,``; CSV lines keep their CRLF: ``trim=0``)."""

    rows_path: Path
    idx_path: Path
    count: int
    trim: int = 1

    def page(self, offset: int, limit: int) -> tuple[bytes, int]:
        """Rows ``offset .. offset+limit`` joined (JSON objects by commas, CSV lines by CRLF), and how many
        there are."""
        if offset >= self.count or limit <= 0:
            return b"", 0
        end = min(self.count, offset + limit)
        with open(self.idx_path, "rb") as idx:
            idx.seek(offset * 8)
            (start,) = struct.unpack("<Q", idx.read(8))
            idx.seek(end * 8)
            (stop,) = struct.unpack("<Q", idx.read(8))
        with open(self.rows_path, "rb") as rows:
            rows.seek(start)
            data = rows.read(stop - start)
        return (data[:-self.trim] if self.trim else data), end - offset


class _Lines(list[str]):
    """A csv.writer target keeping each written row as its own string."""

    write = list.append


def csv_line(values: Sequence[str]) -> bytes:
    """One RFC 4180 CSV line ending in CRLF: fields holding a comma, quote, CR or LF are quoted, quotes
    doubled. A single empty field is written ``""`` so the line is not blank."""
    lines = _Lines()
    csv.writer(lines, lineterminator="\r\n").writerow(values)
    return lines[0].encode()


def _write_csv(json_data: StagedData, names: Sequence[str], rows_path: Path, idx_path: Path) -> None:
    """Encode every staged JSON row as a CSV line of ``names`` (in order), with an offsets index."""
    rows_tmp, idx_tmp = rows_path.with_suffix(".csv-tmp"), idx_path.with_suffix(".csvidx-tmp")
    offsets = array("Q", [0])
    position = 0
    batch = 4096
    with open(json_data.idx_path, "rb") as idx_in, open(json_data.rows_path, "rb") as rows_in, \
            open(rows_tmp, "wb") as out:
        json_offsets = array("Q")
        json_offsets.frombytes(idx_in.read())
        for first in range(0, json_data.count, batch):
            last = min(json_data.count, first + batch)
            rows_in.seek(json_offsets[first])
            chunk = rows_in.read(json_offsets[last] - json_offsets[first])
            items = json.loads(b"[" + chunk[:-1] + b"]")
            lines = _Lines()
            csv.writer(lines, lineterminator="\r\n").writerows(
                [row.get(name, "") for name in names] for row in items)
            encoded = [line.encode() for line in lines]
            for line in encoded:
                position += len(line)
                offsets.append(position)
            out.write(b"".join(encoded))
    with open(idx_tmp, "wb") as idx_out:
        idx_out.write(offsets.tobytes())
    os.replace(rows_tmp, rows_path)
    os.replace(idx_tmp, idx_path)  # last: its presence means the CSV staging is complete


class Store:
    """SQLite-backed rows and API objects for one sandbox data directory."""

    def __init__(
        self, data_dir: Path, seed: int, as_of: date, contacts: int, timezone: str = DEFAULT_TIMEZONE
    ) -> None:
        self.data_dir = Path(data_dir)
        self.seed, self.as_of, self.n_contacts = seed, as_of, contacts
        self.clock = Clock(timezone)
        self.data_dir.mkdir(parents=True, exist_ok=True)
        (self.data_dir / "staged").mkdir(exist_ok=True)
        self.db_path = self.data_dir / "sandbox.sqlite"
        self._lock = threading.RLock()
        self._gen_lock = threading.Lock()
        self._csv_lock = threading.Lock()
        if not self.db_path.exists():
            # Build in a side file and rename it, so an interrupted first start leaves no half-made store.
            building = self.db_path.with_suffix(".building")
            building.unlink(missing_ok=True)
            conn = sqlite3.connect(building, isolation_level=None)
            try:
                conn.execute("PRAGMA journal_mode=OFF")
                conn.execute("PRAGMA synchronous=OFF")
                self._create(conn)
            finally:
                conn.close()
            os.replace(building, self.db_path)
        self._conn = self.connect()
        self._check_meta()
        self._epoch_wall = datetime.fromisoformat(self.meta("epoch_wall"))
        self._offset = timedelta(seconds=float(self.meta("clock_offset") or 0))
        self._interrupted = self._end_interrupted_syncs()

    # --- connections and clock ------------------------------------------------------------------------------

    def connect(self) -> sqlite3.Connection:
        conn = sqlite3.connect(self.db_path, timeout=60, check_same_thread=False, isolation_level=None)
        conn.create_function(_INSTANCE_TIME_SQL, 1, self.clock.instance_text, deterministic=True)
        conn.execute("PRAGMA journal_mode=WAL")
        conn.execute("PRAGMA synchronous=NORMAL")
        return conn

    def close(self) -> None:
        with self._lock:
            self._conn.close()

    def now(self) -> datetime:
        """The sandbox clock: ``--as-of`` 00:00 UTC when the data directory was made, at wall speed."""
        return midnight(self.as_of) + (utcnow() - self._epoch_wall) + self._offset

    def advance_clock(self, delta: timedelta) -> datetime:
        """Move the sandbox clock forward (tests of expiry); persisted with the store."""
        with self.tx() as conn:
            self._offset += delta
            conn.execute(
                "INSERT OR REPLACE INTO meta VALUES ('clock_offset', ?)", (str(self._offset.total_seconds()),)
            )
        return self.now()

    @contextmanager
    def tx(self) -> Iterator[sqlite3.Connection]:
        """The shared connection, locked, in one transaction."""
        with self._lock:
            self._conn.execute("BEGIN IMMEDIATE")
            try:
                yield self._conn
            except BaseException:
                self._conn.execute("ROLLBACK")
                raise
            self._conn.execute("COMMIT")

    @contextmanager
    def bulk_tx(self) -> Iterator[sqlite3.Connection]:
        """A private connection in one write transaction, for long writes (imports) that must not hold the
        shared connection's lock: other requests keep reading meanwhile (WAL)."""
        conn = self.connect()
        try:
            conn.execute("BEGIN IMMEDIATE")
            try:
                yield conn
            except BaseException:
                conn.execute("ROLLBACK")
                raise
            conn.execute("COMMIT")
        finally:
            conn.close()

    def query(self, sql: str, params: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        with self._lock:
            return self._conn.execute(sql, params).fetchall()

    def meta(self, key: str) -> str:
        rows = self.query("SELECT value FROM meta WHERE key = ?", (key,))
        return rows[0][0] if rows else ""

    # --- schema and synthetic population --------------------------------------------------------------------

    def _create(self, c: sqlite3.Connection) -> None:
        c.execute("CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT)")
        for entity in ALL_ENTITIES:
            cols = ", ".join(
                f"{_q(f.key)} {'INTEGER PRIMARY KEY' if f.key == 'id' else _SQL_TYPE.get(f.data_type, 'TEXT')}"
                for f in entity.columns
            )
            extra = ", day TEXT" if entity is ACTIVITY_ENTITY else ""
            c.execute(f"CREATE TABLE {_q(entity.table)} ({cols}{extra})")
        c.execute("CREATE INDEX contacts_email ON contacts (lower(trim(c_emailaddress)))")
        c.execute("CREATE INDEX activities_type_day ON activities (type, day)")
        c.execute("CREATE TABLE activity_days (type TEXT, day TEXT, rows INTEGER, PRIMARY KEY (type, day))")
        for cdo in (CAMPAIGN_RESPONSES_CDO, SFDC_CAMPAIGNS_CDO):
            key = f"f{cdo.unique_field_id}"
            c.execute(f"CREATE INDEX {cdo.entity.table}_unique ON {_q(cdo.entity.table)} ({_q(key)})")
        c.executescript("""
            CREATE TABLE definitions (id INTEGER PRIMARY KEY AUTOINCREMENT, kind TEXT, entity TEXT, body TEXT,
                created_by TEXT, created_at TEXT, updated_by TEXT, updated_at TEXT, deleted INTEGER DEFAULT
                0);
            CREATE TABLE syncs (id INTEGER PRIMARY KEY AUTOINCREMENT, instance_uri TEXT, def_id INTEGER,
                kind TEXT, entity TEXT, user TEXT, status TEXT, created_at TEXT, started_at TEXT, ended_at
                TEXT, callback_url TEXT, definition TEXT, outcome TEXT, rows INTEGER DEFAULT 0,
                data_state TEXT DEFAULT 'none', expires_at TEXT);
            CREATE TABLE sync_logs (sync_id INTEGER, seq INTEGER, severity TEXT, status_code TEXT, message
            TEXT,
                count INTEGER, created_at TEXT, PRIMARY KEY (sync_id, seq));
            CREATE TABLE rejects (sync_id INTEGER, seq INTEGER, body TEXT, PRIMARY KEY (sync_id, seq));
            CREATE TABLE import_posts (id INTEGER PRIMARY KEY AUTOINCREMENT, def_id INTEGER, sync_id INTEGER,
                n_rows INTEGER, rows TEXT);
            CREATE INDEX import_posts_def ON import_posts (def_id, sync_id);
            CREATE TABLE tokens (token TEXT PRIMARY KEY, kind TEXT, user TEXT, expires_at TEXT, used INTEGER);
            CREATE TABLE memberships (kind TEXT, list_id INTEGER, record_id INTEGER, member INTEGER,
                PRIMARY KEY (kind, list_id, record_id));
        """)
        c.execute("BEGIN")
        self._insert_many(c, CONTACT_ENTITY, synth.contacts(self.seed, self.as_of, self.n_contacts))
        self._insert_many(c, ACCOUNT_ENTITY, synth.accounts(self.seed, self.as_of, self.n_contacts))
        # Every contact belongs to an account, round robin, for {{Contact.Account.Field(...)}}; and carries
        # the derived standard fields Eloqua fills itself.
        c.execute(
            "UPDATE contacts SET account_id = (id - 1) % (SELECT MAX(1, COUNT(*)) FROM accounts) + 1, "
            "contactidext = printf('CSCCS%09d', id), "
            "c_email_address_domain = NULLIF(substr(trim(c_emailaddress), "
            "instr(trim(c_emailaddress), '@') + 1), trim(c_emailaddress)), "
            "c_firstandlast = NULLIF(trim(COALESCE(c_firstname, '') || ' ' || COALESCE(c_lastname, '')), ''), "
            "email_format = 'HTML'"
        )
        self._insert_many(
            c, CAMPAIGN_RESPONSES_CDO.entity, synth.campaign_responses(self.seed, self.as_of, self.n_contacts)
        )
        self._insert_many(
            c, SFDC_CAMPAIGNS_CDO.entity, synth.sfdc_campaigns(self.seed, self.as_of, self.n_contacts)
        )
        self._insert_many(
            c, CAMPAIGN_RESPONSE_ENTITY, synth.native_campaign_responses(self.seed, self.as_of, self.n_contacts)
        )
        for event in EVENTS.values():
            self._insert_many(
                c, event.entity, synth.event_registrants(self.seed, self.as_of, self.n_contacts, event.id)
            )
        meta = {
            "schema": SCHEMA_VERSION,
            "seed": str(self.seed),
            "as_of": self.as_of.isoformat(),
            "contacts": str(self.n_contacts),
            "epoch_wall": utcnow().isoformat(),
        }
        c.executemany("INSERT INTO meta VALUES (?, ?)", meta.items())
        c.execute("COMMIT")

    @staticmethod
    def _insert_many(
        conn: sqlite3.Connection,
        entity: Entity,
        rows: Iterable[dict[str, Any]],
        extra: dict[str, Any] | None = None,
    ) -> int:
        keys = [f.key for f in entity.columns] + list(extra or {})
        marks = ", ".join("?" * len(keys))
        sql = f"INSERT INTO {_q(entity.table)} ({', '.join(map(_q, keys))}) VALUES ({marks})"
        tail = tuple((extra or {}).values())
        cur = conn.executemany(
            sql, (tuple(r.get(k) for k in keys[: len(keys) - len(tail)]) + tail for r in rows)
        )
        return cur.rowcount

    def _check_meta(self) -> None:
        got = {k: v for k, v in self.query("SELECT key, value FROM meta")}
        want = {"seed": str(self.seed), "as_of": self.as_of.isoformat(), "contacts": str(self.n_contacts)}
        if got.get("schema") != SCHEMA_VERSION:
            raise StoreError(f"{self.data_dir} holds an incompatible sandbox store: use an empty --data-dir")
        if any(got.get(k) != v for k, v in want.items()):
            raise StoreError(
                f"{self.data_dir} was made with --seed {got.get('seed')} --as-of {got.get('as_of')} "
                f"--contacts {got.get('contacts')}: start with those options or use another --data-dir"
            )

    def _end_interrupted_syncs(self) -> list[int]:
        rows = self.query("SELECT id FROM syncs WHERE status IN ('pending', 'active')")
        return [r[0] for r in rows]

    @property
    def interrupted_syncs(self) -> list[int]:
        """Syncs left running by a previous process (the sync engine ends them in ``error``)."""
        return self._interrupted

    # --- activities on demand -------------------------------------------------------------------------------

    def ensure_activities(self, activity_type: str, day: date) -> int:
        """Generate and cache one (type, day) of activities if not done yet; return its row count."""
        key = (activity_type, day.isoformat())
        rows = self.query("SELECT rows FROM activity_days WHERE type = ? AND day = ?", key)
        if rows:
            return int(rows[0][0])
        with self._gen_lock:
            rows = self.query("SELECT rows FROM activity_days WHERE type = ? AND day = ?", key)
            if rows:
                return int(rows[0][0])
            generated = synth.activities(self.seed, self.as_of, self.n_contacts, activity_type, day)
            conn = self.connect()
            try:
                conn.execute("BEGIN IMMEDIATE")
                self._insert_many(conn, ACTIVITY_ENTITY, generated, {"day": day.isoformat()})
                conn.execute("INSERT INTO activity_days VALUES (?, ?, ?)", (*key, len(generated)))
                conn.execute("COMMIT")
            finally:
                conn.close()
            return len(generated)

    # --- exports --------------------------------------------------------------------------------------------

    def scan(
        self,
        entity: Entity,
        fields: Sequence[tuple[str, Field]],
        filter_fields: Sequence[Field],
        scopes: Sequence[tuple[str, str]] | None = None,
        instance_time: Iterable[str] = (),
    ) -> Generator[tuple[tuple[Any, ...], str], None, None]:
        """Yield ``(filter column values, row JSON)`` for every row of ``entity`` in the export order.

        ``fields`` are (output name, field) pairs; the JSON object has those names in that order, values as an
        export prints them, dates whose field key is in ``instance_time`` in the instance's time zone (filter
        values stay as stored). ``scopes`` restricts activities to (type, day) pairs. The order is a permutation
        of the ids seeded by ``--seed``, the same for every sync: Eloqua documents no order, so clients must
        not depend on one, and id order would hide the code that does.
        """
        local = set(instance_time)
        args: list[Any] = []
        parts = []
        for name, f in fields:
            parts.append(f"?, {export_sql(f, f.key in local)}")
            args.append(name)
        json_sql = json_object_sql(parts)
        filter_sql = "".join(f"{value_sql(f)}, " for f in filter_fields)
        n_filter = len(filter_fields)
        base = f"SELECT {filter_sql}{json_sql} FROM {_q(entity.table)}"
        order = f" ORDER BY {export_order_sql(self.seed)}"
        if scopes is None:
            sql, params = base + order, args
        else:
            types = sorted({t for t, _d in scopes})
            days = sorted({d for _t, d in scopes})
            pairs = set(scopes)
            if len(pairs) != len(types) * len(days):
                raise ValueError("activity scopes must be every type of a set on every day of a set")
            sql = (
                f"{base} WHERE type IN ({', '.join('?' * len(types))}) "
                f"AND day IN ({', '.join('?' * len(days))}){order}"
            )
            params = [*args, *types, *days]
        conn = self.connect()
        try:
            if scopes is not None and not scopes:
                return
            cur = conn.execute(sql, params)
            while batch := cur.fetchmany(2000):
                for row in batch:
                    yield row[:n_filter], row[n_filter]
        finally:
            conn.close()

    def external_activity_days(self, types: Sequence[str]) -> list[date]:
        """The days that hold imported external activities of ``types``."""
        if not types:
            return []
        rows = self.query(
            f"SELECT DISTINCT day FROM activities WHERE type IN ({', '.join('?' * len(types))})", tuple(types)
        )
        return [date.fromisoformat(d) for (d,) in rows]

    def staged_paths(self, sync_id: int) -> tuple[Path, Path]:
        base = self.data_dir / "staged"
        return base / f"{sync_id}.rows", base / f"{sync_id}.idx"

    def staged_csv_paths(self, sync_id: int) -> tuple[Path, Path]:
        base = self.data_dir / "staged"
        return base / f"{sync_id}.csv", base / f"{sync_id}.csvidx"

    def write_staged(self, sync_id: int, rows: Iterable[str]) -> int:
        """Write an export sync's rows (JSON texts) to its staged files; return the row count."""
        rows_path, idx_path = self.staged_paths(sync_id)
        self._delete(self.staged_csv_paths(sync_id))
        offsets = [0]
        pos = 0
        with open(rows_path, "wb") as out:
            buf: list[bytes] = []
            for text in rows:
                b = text.encode() + b","
                buf.append(b)
                pos += len(b)
                offsets.append(pos)
                if len(buf) >= 4096:
                    out.write(b"".join(buf))
                    buf.clear()
            out.write(b"".join(buf))
        with open(idx_path, "wb") as idx:
            idx.write(struct.pack(f"<{len(offsets)}Q", *offsets))
        return len(offsets) - 1

    def staged(self, sync_id: int, count: int) -> StagedData | None:
        rows_path, idx_path = self.staged_paths(sync_id)
        if not rows_path.exists() or not idx_path.exists():
            return None
        return StagedData(rows_path, idx_path, count)

    def staged_csv(self, sync_id: int, count: int, names: Sequence[str]) -> StagedData | None:
        """The sync's rows as CSV lines of ``names``, encoded from its JSON staging on first use, then kept."""
        rows_path, idx_path = self.staged_csv_paths(sync_id)
        if not idx_path.exists():
            with self._csv_lock:
                json_data = self.staged(sync_id, count)
                if json_data is None:
                    return None
                if not idx_path.exists():
                    _write_csv(json_data, names, rows_path, idx_path)
        return StagedData(rows_path, idx_path, count, trim=0)

    def delete_staged(self, sync_id: int) -> None:
        self._delete((*self.staged_paths(sync_id), *self.staged_csv_paths(sync_id)))

    @staticmethod
    def _delete(paths: Iterable[Path]) -> None:
        for path in paths:
            try:
                os.remove(path)
            except FileNotFoundError:
                pass

    def dump(self, entity: Entity, where: str = "", params: Sequence[Any] = ()) -> Iterator[str]:
        """Every stored row as JSON keyed by EML statement (aliases included), valued as an export prints."""
        fields = [(s, f) for f in entity.fields for s in (f.statement, *f.aliases)]
        parts = [f"?, {export_sql(f)}" for _s, f in fields]
        sql = f"SELECT {json_object_sql(parts)} FROM {_q(entity.table)} {where} ORDER BY id"
        conn = self.connect()
        try:
            cur = conn.execute(sql, [s for s, _f in fields] + list(params))
            while batch := cur.fetchmany(2000):
                for (text,) in batch:
                    yield text
        finally:
            conn.close()

    # --- row access for imports -----------------------------------------------------------------------------

    def find_ids(self, conn: sqlite3.Connection, entity: Entity, key: str, value: Any) -> list[int]:
        table = _q(entity.table)
        if entity is CONTACT_ENTITY and key == "c_emailaddress":
            sql = f"SELECT id FROM {table} WHERE lower(trim(c_emailaddress)) = ? ORDER BY id"
            value = str(value).strip().lower()
        else:
            sql = f"SELECT id FROM {table} WHERE {_q(key)} = ? ORDER BY id"
        return [r[0] for r in conn.execute(sql, (value,)).fetchall()]

    def get_row(self, conn: sqlite3.Connection, entity: Entity, row_id: int) -> dict[str, Any]:
        keys = [f.key for f in entity.columns]
        row = conn.execute(
            f"SELECT {', '.join(map(_q, keys))} FROM {_q(entity.table)} WHERE id = ?", (row_id,)
        ).fetchone()
        return dict(zip(keys, row, strict=True)) if row else {}

    def update_row(
        self, conn: sqlite3.Connection, entity: Entity, row_id: int, changes: dict[str, Any]
    ) -> None:
        sets = ", ".join(f"{_q(k)} = ?" for k in changes)
        conn.execute(f"UPDATE {_q(entity.table)} SET {sets} WHERE id = ?", (*changes.values(), row_id))

    def insert_row(self, conn: sqlite3.Connection, entity: Entity, values: dict[str, Any]) -> int:
        if values.get("id") is not None:
            next_id = values["id"]
        else:
            (next_id,) = conn.execute(f"SELECT COALESCE(MAX(id), 0) + 1 FROM {_q(entity.table)}").fetchone()
            values = {**values, "id": next_id}
        conn.execute(
            f"INSERT INTO {_q(entity.table)} ({', '.join(map(_q, values))}) "
            f"VALUES ({', '.join('?' * len(values))})",
            tuple(values.values()),
        )
        return int(next_id)

    # --- list and email group memberships changed by sync actions ------------------------------------------

    def set_memberships(self, kind: str, list_id: int, record_ids: Iterable[int], member: bool) -> int:
        """Record that ``record_ids`` are (or are not) members of list ``kind[list_id]`` (``ContactList``,
        ``AccountList``, ``EmailGroup``); overrides the list's rule. Returns how many ids were given."""
        ids = list(record_ids)
        with self.tx() as conn:
            conn.executemany(
                "INSERT OR REPLACE INTO memberships VALUES (?, ?, ?, ?)",
                ((kind, list_id, i, int(member)) for i in ids),
            )
        return len(ids)

    def membership_overrides(self, kind: str, list_id: int) -> dict[int, bool]:
        """Record id -> member for the ids sync actions changed on that list."""
        rows = self.query(
            "SELECT record_id, member FROM memberships WHERE kind = ? AND list_id = ?", (kind, list_id)
        )
        return {int(i): bool(m) for i, m in rows}

    def count(self, entity: Entity) -> int:
        return int(self.query(f"SELECT COUNT(*) FROM {_q(entity.table)}")[0][0])


def export_order_sql(seed: int) -> str:
    """SQL of the export order key: a multiplicative hash of ``id`` modulo 2**32 whose multiplier and offset
    come from the seed, ties (ids equal modulo 2**32) broken by id. An odd multiplier below 2**31 keeps the
    product inside SQLite's 64-bit integers (activity ids are far above 2**32) and makes the hash a
    bijection on ids modulo 2**32, so the order is deterministic and unrelated to id order."""
    multiplier = (1640531527 + 2 * 7919 * int(seed)) % 2147483648 | 1
    offset = int(seed) * 40503 % 4294967296
    return f"(((id % 4294967296) * {multiplier} + {offset}) % 4294967296), id"


def json_dumps(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"), ensure_ascii=False)


def day_range(start: date, end: date) -> list[date]:
    return [start + timedelta(days=k) for k in range((end - start).days + 1)]


Predicate = Callable[[dict[str, Any]], bool]
