"""Import data: parsing posted JSON/CSV and applying staged rows to the store when an import sync runs.

Semantics: rows are matched on the identifier field (emails case- and padding-insensitively); custom date
fields are read in the instance's time zone (``clock``); a match is
updated field by field under ``updateRule`` / ``updateRuleByField`` and gets ``UpdatedAt`` = the sandbox clock
when a value changed; no match creates a record (contacts need a valid email). Invalid rows are rejected with
Eloqua's messages and ELQ codes; the identifier field itself is never rewritten.
"""

from __future__ import annotations

import csv
import io
import json
import re
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from scc_sandbox.catalog import CONTACT_ENTITY, Entity, Field
from scc_sandbox.formats import BadValue, export_ts, import_value
from scc_sandbox.store import Store

MAX_POST_BYTES = 32 * 1024 * 1024
MAX_POSTS_PER_SYNC = 500
_EMAIL = re.compile(r"[^@\s]+@[^@\s]+\.[^@\s.]+")


class BadData(ValueError):
    """Posted import data that cannot be read (one line)."""


def parse_posted(body: bytes, content_type: str, field_names: list[str]) -> list[dict[str, Any]]:
    """Rows from a data POST: a JSON array of flat objects, or CSV with a header row (UTF-8)."""
    try:
        text = body.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise BadData(f"Data must be UTF-8 ({exc.reason} at byte {exc.start}).") from None
    if "csv" in content_type:
        reader = csv.DictReader(io.StringIO(text))
        if reader.fieldnames is None:
            return []
        return [{k: v for k, v in row.items() if k is not None} for row in reader]
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise BadData(f"Data must be a JSON array of objects ({exc.msg} at line {exc.lineno}).") from None
    if isinstance(data, dict):
        data = [data]
    if not isinstance(data, list) or not all(isinstance(r, dict) for r in data):
        raise BadData("Data must be a JSON array of flat objects keyed by the definition's field names.")
    for row in data:
        for key, value in row.items():
            if isinstance(value, dict | list):
                raise BadData(f"Field {key!r} must be a string, number, boolean or null, not a nested value.")
    return data


@dataclass
class ImportResult:
    processed: int = 0
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    invalid_emails: int = 0
    rejects: list[dict[str, Any]] = field(default_factory=list)


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def apply_import(
    store: Store, entity: Entity, definition: dict[str, Any], rows: list[dict[str, Any]], now: datetime
) -> ImportResult:
    """Apply staged rows in one transaction; return counts and rejects (recordIndex is 1-based)."""
    fields: dict[str, Field] = {
        name: entity.resolve(st)  # type: ignore[misc]
        for name, st in definition["fields"].items()
    }
    ident_name = definition["identifierFieldName"]
    ident = fields[ident_name]
    rule = definition.get("updateRule", "always")
    by_field = definition.get("updateRuleByField") or {}
    multi = bool(definition.get("isUpdatingMultipleMatchedRecords"))
    stamp = export_ts(now)
    clock = store.clock
    result = ImportResult()

    def reject(index: int, row: dict[str, Any], message: str, code: str, invalid: list[str]) -> None:
        result.rejects.append(
            {
                "fieldValues": {name: _text(row.get(name)) for name in fields if name in row},
                "message": message,
                "statusCode": code,
                "recordIndex": index,
                "invalidFields": invalid,
            }
        )

    with store.bulk_tx() as conn:
        for index, row in enumerate(rows, start=1):
            result.processed += 1
            values: dict[str, Any] = {}
            bad: list[str] = []
            bad_email: list[str] = []
            for name, f in fields.items():
                if name not in row:
                    continue
                try:
                    # custom dates are read on the instance's clock; system dates cannot be imported
                    value = import_value(row[name], f.data_type, clock if f.in_instance_time(True) else None)
                except BadValue:
                    bad.append(f.internal_name)
                    continue
                if (
                    f.data_type == "emailAddress"
                    and value is not None
                    and not _EMAIL.fullmatch(value.strip())
                ):
                    bad_email.append(f.internal_name)
                    continue
                values[f.key] = value
            if bad_email:
                result.invalid_emails += 1
                reject(index, row, "Invalid email address.", "ELQ-00002", bad_email)
                continue
            if bad:
                reject(index, row, "Invalid data type for field value.", "ELQ-00032", bad)
                continue
            key_value = values.get(ident.key)
            if key_value is None:
                reject(index, row, "Identifier field value is missing.", "ELQ-00061", [ident.internal_name])
                continue
            matches = store.find_ids(conn, entity, ident.key, key_value)
            if len(matches) > 1 and not multi:
                reject(index, row, "Multiple matches.", "ELQ-00026", [ident.internal_name])
                continue
            if not matches:
                if ident.key == "id":
                    reject(
                        index, row, "No record matches the identifier.", "ELQ-00034", [ident.internal_name]
                    )
                    continue
                if entity is CONTACT_ENTITY and values.get("c_emailaddress") is None:
                    reject(index, row, "Missing required field.", "ELQ-00061", ["C_EmailAddress"])
                    continue
                store.insert_row(conn, entity, {**values, "created_at": stamp, "updated_at": stamp})
                result.created += 1
                continue
            changed_any = False
            for row_id in matches:
                current = store.get_row(conn, entity, row_id)
                changes: dict[str, Any] = {}
                for name, f in fields.items():
                    if f is ident or f.key not in values:
                        continue
                    field_rule = by_field.get(name, "always" if rule == "useFieldRule" else rule)
                    new, old = values[f.key], current.get(f.key)
                    if field_rule == "ifNewIsNotNull" and new is None:
                        continue
                    if field_rule == "ifExistingIsNull" and old is not None:
                        continue
                    if new != old:
                        changes[f.key] = new
                if changes:
                    changes["updated_at"] = stamp
                    store.update_row(conn, entity, row_id, changes)
                    changed_any = True
            if changed_any:
                result.updated += 1
            else:
                result.unchanged += 1
    return result


def staged_imports(store: Store) -> dict[str, dict[str, int]]:
    """Import data posted and not yet taken by a sync, per definition uri: ``{"posts": n, "rows": m}``
    (``GET /sandbox/state``: what a load left staged)."""
    rows = store.query(
        "SELECT d.entity, d.id, COUNT(*), SUM(p.n_rows) FROM import_posts p JOIN definitions d ON d.id = p.def_id "
        "WHERE p.sync_id IS NULL GROUP BY d.id ORDER BY d.id"
    )
    return {f"/{entity}/imports/{def_id}": {"posts": posts, "rows": int(n or 0)} for entity, def_id, posts, n in rows}
