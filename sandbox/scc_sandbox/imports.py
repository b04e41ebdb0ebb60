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

from scc_sandbox.catalog import (
    ACTIVITY_ENTITY,
    CONTACT_ENTITY,
    EXTERNAL_ASSET_TYPES,
    Entity,
    Field,
    normalize_statement,
)
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


EXTERNAL_ACTIVITY_ID_BASE = 9 * 10**15  # above every generated activity id


def apply_activity_import(
    store: Store, definition: dict[str, Any], rows: list[dict[str, Any]], campaign_ids: frozenset[int]
) -> ImportResult:
    """Create one external activity per valid row (external activities are never matched or updated).

    A row needs its contact (by email address, trimmed and case-insensitively, or id: ELQ-00085 otherwise),
    an asset type of the instance (ELQ-00072), an activity type of that asset type (ELQ-00070), a date read on
    the instance's clock (ELQ-00032), an asset name (ELQ-00061), and a known campaign when one is given
    (ELQ-00055). Created activities keep their ``day`` (UTC date) so activity exports find them.
    """
    by_statement = {normalize_statement(st): name for name, st in definition["fields"].items()}

    def value(row: dict[str, Any], statement: str) -> str | None:
        name = by_statement.get(normalize_statement(statement))
        text = _text(row.get(name)).strip() if name is not None else ""
        return text or None

    result = ImportResult()
    names = list(definition["fields"])
    with store.bulk_tx() as conn:
        (top,) = conn.execute(
            "SELECT COALESCE(MAX(id), ?) FROM activities WHERE id > ?",
            (EXTERNAL_ACTIVITY_ID_BASE, EXTERNAL_ACTIVITY_ID_BASE),
        ).fetchone()
        next_id = int(top) + 1

        def reject(index: int, row: dict[str, Any], message: str, code: str, statement: str) -> None:
            result.rejects.append({
                "fieldValues": {n: _text(row.get(n)) for n in names if n in row},
                "message": message,
                "statusCode": code,
                "recordIndex": index,
                "invalidFields": [by_statement.get(normalize_statement(statement), statement)],
            })

        for index, row in enumerate(rows, start=1):
            result.processed += 1
            email = value(row, "{{Activity.Contact.Field(C_EmailAddress)}}")
            contact_text = value(row, "{{Activity.Contact.Id}}")
            contact_id: int | None = None
            if contact_text is not None and contact_text.isdigit():
                found = conn.execute("SELECT id, c_emailaddress FROM contacts WHERE id = ?",
                                     (int(contact_text),)).fetchone()
            elif email is not None:
                found = conn.execute(
                    "SELECT id, c_emailaddress FROM contacts WHERE lower(trim(c_emailaddress)) = ? ORDER BY id",
                    (email.lower(),),
                ).fetchone()
            else:
                found = None
            if found is None:
                reject(index, row, "Contact does not exist.", "ELQ-00085",
                       "{{Activity.Contact.Id}}" if contact_text else "{{Activity.Contact.Field(C_EmailAddress)}}")
                continue
            contact_id, stored_email = int(found[0]), found[1]
            asset_type = value(row, "{{Activity.Asset.Type}}")
            activity_type = value(row, "{{Activity.Type}}")
            asset_type = next((t for t in EXTERNAL_ASSET_TYPES if t.casefold() == (asset_type or "").casefold()), None)
            if asset_type is None:
                reject(index, row, "Asset Type not found.", "ELQ-00072", "{{Activity.Asset.Type}}")
                continue
            activity_type = next(
                (t for t in EXTERNAL_ASSET_TYPES[asset_type] if t.casefold() == (activity_type or "").casefold()), None
            )
            if activity_type is None:
                reject(index, row, "Activity Type not found.", "ELQ-00070", "{{Activity.Type}}")
                continue
            asset_name = value(row, "{{Activity.Asset.Name}}")
            if asset_name is None:
                reject(index, row, "Missing required field.", "ELQ-00061", "{{Activity.Asset.Name}}")
                continue
            try:
                created = import_value(value(row, "{{Activity.CreatedAt}}"), "date", store.clock)
            except BadValue:
                created = None
            if created is None:
                reject(index, row, "Invalid data type for field value.", "ELQ-00032", "{{Activity.CreatedAt}}")
                continue
            campaign_text = value(row, "{{Activity.Campaign.Id}}")
            campaign = int(campaign_text) if campaign_text and campaign_text.isdigit() else None
            if campaign_text is not None and campaign not in campaign_ids:
                reject(index, row, "Campaign not found.", "ELQ-00055", "{{Activity.Campaign.Id}}")
                continue
            store.insert_row(conn, ACTIVITY_ENTITY, {
                "id": next_id,
                "type": activity_type,
                "created_at": created,
                "contact_id": contact_id,
                "asset_type": asset_type,
                "asset_name": asset_name,
                "campaign_id": campaign,
                "external_id": value(row, "{{Activity.ExternalId}}"),
                "email_address": stored_email,
                "day": created[:10],
            })
            next_id += 1
            result.created += 1
    return result


def staged_imports(store: Store) -> dict[str, dict[str, int]]:
    """Import data posted and not yet taken by a sync, per definition uri: ``{"posts": n, "rows": m}``
    (``GET /sandbox/state``: what a load left staged)."""
    rows = store.query(
        "SELECT d.entity, d.id, COUNT(*), SUM(p.n_rows) FROM import_posts p JOIN definitions d ON d.id = p.def_id "
        "WHERE p.sync_id IS NULL GROUP BY d.id ORDER BY d.id"
    )
    return {f"/{entity}/imports/{def_id}": {"posts": posts, "rows": int(n or 0)} for entity, def_id, posts, n in rows}
