"""A tiny raw zone written with pyarrow the way the extract stage writes it (contract types, ``int64`` ints,
``timestamp[us, UTC]``, one part file + ``_SUCCESS`` per dataset)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import pyarrow as pa
import pyarrow.parquet as pq

from contract.objects import EloquaObject
from lake.paths import LakeLayout, local_path

_ARROW = {
    "string": pa.string(),
    "int": pa.int64(),
    "timestamp": pa.timestamp("us", tz="UTC"),
    "boolean": pa.bool_(),
}


def utc(text: str) -> dt.datetime:
    return dt.datetime.fromisoformat(text).replace(tzinfo=dt.UTC)


def write_dataset(url: str, obj: EloquaObject, rows: Iterable[Mapping[str, Any]] = ()) -> None:
    """Writes ``rows`` (absent columns null) as one Parquet file under ``url`` and flags it complete; no rows
    writes only the flag, like an export of zero rows."""
    folder = Path(local_path(url))
    folder.mkdir(parents=True, exist_ok=True)
    rows = list(rows)
    if rows:
        schema = pa.schema([pa.field(c.name, _ARROW[c.type]) for c in obj.columns])
        table = pa.Table.from_pylist(
            [{c.name: r.get(c.name) for c in obj.columns} for r in rows], schema=schema
        )
        pq.write_table(table, folder / "part-0000000000.parquet")
    (folder / LakeLayout.success_flag("").lstrip("/")).touch()
