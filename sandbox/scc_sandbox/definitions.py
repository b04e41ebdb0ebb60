"""Validation of export and import definitions, answered in the Bulk API's ``failures`` shape.

``validate_export`` / ``validate_import`` take the posted JSON body and return ``(definition, failures)``: the
stored definition (defaults filled in, read-only keys dropped) when ``failures`` is empty. The same checks run
again when a sync is created (Eloqua validates definitions at sync creation since 20D).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any

from scc_sandbox import eel
from scc_sandbox.catalog import (
    ACCOUNT_ENTITY,
    ACTIVITY_ENTITY,
    ACTIVITY_TYPES,
    CONTACT_ENTITY,
    EMAIL_GROUPS,
    EXTERNAL_ACTIVITY_TYPES,
    MAX_ACTIVITY_CONTACT_FIELDS,
    Entity,
    Field,
    MemberList,
    canonical_activity_type,
    is_activity_contact_field,
    member_list,
    normalize_statement,
)
from scc_sandbox.clock import Clock
from scc_sandbox.formats import parse_duration, parse_timestamp

MAX_EXPORT_FIELDS = 250
MAX_IMPORT_FIELDS = 100
MAX_FILTER = 1000
MAX_SYNC_ACTIONS = 10
EXPORT_RETENTION_DEFAULT = "PT12H"
IMPORT_RETENTION_DEFAULT = "P7D"
UPDATE_RULES = ("always", "ifNewIsNotNull", "ifExistingIsNull", "useFieldRule")
READ_ONLY_KEYS = ("uri", "createdBy", "createdAt", "updatedBy", "updatedAt", "kbUsed")
_EML = re.compile(r"\{\{[A-Za-z][^{}]*\}\}")

Failure = dict[str, Any]


def failure(field: str, constraint: str, value: Any = None) -> Failure:
    out: Failure = {"field": field, "constraint": constraint}
    if value is not None:
        out["value"] = value if isinstance(value, str) else str(value)
    return out


def _check_name(body: Mapping[str, Any], out: list[Failure]) -> None:
    name = body.get("name")
    if not isinstance(name, str) or not name.strip():
        out.append(failure("name", "Must be a non-empty string.", name))
    elif len(name) > 100:
        out.append(failure("name", "Must be at most 100 characters long.", name))


def _check_fields(
    body: Mapping[str, Any], entity: Entity, limit: int, out: list[Failure]
) -> dict[str, Field]:
    fields = body.get("fields")
    resolved: dict[str, Field] = {}
    if not isinstance(fields, dict) or not fields:
        out.append(failure("fields", "Must be an object mapping at least one name to an EML statement."))
        return resolved
    if len(fields) > limit:
        out.append(failure("fields", f"Must contain at most {limit} fields; found {len(fields)}."))
        return resolved
    for name, statement in fields.items():
        if not name or len(name) > 100:
            out.append(failure("fields", "Field names must be 1 to 100 characters long.", name))
        elif not isinstance(statement, str) or not _EML.fullmatch(statement.strip()):
            out.append(
                failure(
                    f"fields.{name}",
                    "Must be a valid EML statement such as '{{Contact.Field(C_EmailAddress)}}'.",
                    statement,
                )
            )
        elif (f := entity.resolve(statement)) is None:
            out.append(
                failure(
                    f"fields.{name}",
                    f"Must reference an existing {_noun(entity)} field (see /{entity.name}/fields).",
                    statement,
                )
            )
        else:
            resolved[name] = f
    return resolved


def _noun(entity: Entity) -> str:
    """How Eloqua's documentation names an entity's fields: "contact fields", "custom object fields", ..."""
    if entity.name.startswith("customObjects/"):
        return f"custom object ({entity.label})"
    return entity.label.lower() if entity.label else entity.name


def _check_duration(
    body: Mapping[str, Any], key: str, lo: timedelta, hi: timedelta | None, out: list[Failure]
) -> None:
    if key not in body or body[key] is None:
        return
    value = parse_duration(body[key])
    bounds = f"between {_iso(lo)} and {_iso(hi)}" if hi else f"at least {_iso(lo)}"
    if value is None or value < lo or (hi is not None and value > hi):
        out.append(failure(key, f"Must be an ISO-8601 duration {bounds}.", body[key]))


def _iso(d: timedelta) -> str:
    return f"P{d.days}D" if d.days and not d.seconds else f"PT{int(d.total_seconds() // 3600)}H"


def _check_bool(body: Mapping[str, Any], key: str, out: list[Failure]) -> None:
    if key in body and body[key] is not None and not isinstance(body[key], bool):
        out.append(failure(key, "Must be true or false.", body[key]))


@dataclass(frozen=True)
class SyncAction:
    """A validated sync action: ``action`` on list ``kind[list_id]`` (``GlobalSubscribe``: no list)."""

    action: str  # add | remove | setStatus
    kind: str  # ContactList | AccountList | EmailGroup | GlobalSubscribe
    list_id: int | None
    status: str | None  # setStatus: subscribed | unsubscribed


_DESTINATION = re.compile(
    r"\{\{\s*(ContactList|AccountList|EmailGroup)\s*\[\s*(\d+)\s*\]\s*\}\}|\{\{\s*(GlobalSubscribe)\s*\}\}",
    re.IGNORECASE,
)
_INSTANCE = re.compile(r"\{\{\s*(ActionInstance|DecisionInstance|FeederInstance)\s*\(", re.IGNORECASE)
# The destinations each entity's sync actions may name (contact ones act on the records' contacts).
_DESTINATIONS = {"contacts": ("ContactList", "EmailGroup", "GlobalSubscribe"), "accounts": ("AccountList",)}
SYNC_ACTION_IDENTIFIERS = {
    "contacts": ("{{Contact.Id}}", "{{Contact.Field(C_EmailAddress)}}", "{{Contact.Field(ContactIDExt)}}"),
    "accounts": ("{{Account.Id}}", "{{Account.Field(M_CompanyName)}}", "{{Account.Field(CompanyIDExt)}}"),
}


def parse_sync_action(action: Any, entity: Entity) -> SyncAction | str:
    """The sync action, or the constraint it breaks (one line)."""
    if not isinstance(action, dict) or action.get("action") not in ("add", "remove", "setStatus"):
        return "Must be add, remove or setStatus."
    destination = action.get("destination")
    if not isinstance(destination, str) or not _EML.fullmatch(destination.strip()):
        return "Must be a statement such as '{{ContactList[12]}}'."
    if entity.name.startswith("events/"):
        return "Events have no sync actions."
    if _INSTANCE.match(destination.strip()):
        return ("Must reference a service instance within a workflow (the sandbox has no action, decision or "
                "feeder instances).")
    m = _DESTINATION.fullmatch(destination.strip())
    allowed = _DESTINATIONS.get(entity.name, ())
    if m is None:
        return f"Must be one of {', '.join(allowed) or 'no destination'} for {entity.name}."
    kind = next(k for k in ("ContactList", "AccountList", "EmailGroup", "GlobalSubscribe")
                if k.lower() == (m.group(1) or m.group(3)).lower())
    if kind not in allowed:
        return (f"{kind} is not a destination for {entity.name} sync actions"
                + (f"; use {', '.join(allowed)}." if allowed else " (the sandbox models contact and account ones)."))
    list_id = int(m.group(2)) if m.group(2) else None
    status = action.get("status")
    if kind in ("ContactList", "AccountList"):
        if action["action"] == "setStatus":
            return f"A {kind} takes add or remove."
        if member_list(f"{{{{{kind}[{list_id}]}}}}") is None:
            return f"Must reference an existing {kind} (see /{entity.name}/lists)."
        return SyncAction(action["action"], kind, list_id, None)
    if action["action"] != "setStatus":
        return f"{kind} takes setStatus with status subscribed or unsubscribed."
    if status not in ("subscribed", "unsubscribed"):
        return "Status must be subscribed or unsubscribed."
    if kind == "EmailGroup" and list_id not in EMAIL_GROUPS:
        return "Must reference an existing email group."
    return SyncAction("setStatus", kind, list_id, status)


def _check_sync_actions(body: Mapping[str, Any], entity: Entity, out: list[Failure]) -> None:
    actions = body.get("syncActions")
    if actions is None:
        return
    if not isinstance(actions, list):
        out.append(failure("syncActions", "Must be an array."))
        return
    if len(actions) > MAX_SYNC_ACTIONS:
        out.append(
            failure("syncActions", f"Must contain at most {MAX_SYNC_ACTIONS} actions; found {len(actions)}.")
        )
        return
    for i, action in enumerate(actions):
        parsed = parse_sync_action(action, entity)
        if isinstance(parsed, str):
            key = "action" if parsed.startswith("Must be add") else "destination"
            if parsed.startswith("Status"):
                key = "status"
            value = action.get(key) if isinstance(action, dict) else action
            out.append(failure(f"syncActions[{i}].{key}", parsed, value))


def sync_actions(definition: Mapping[str, Any], entity: Entity) -> list[SyncAction]:
    """A stored definition's sync actions, parsed (they were validated when it was stored)."""
    parsed = [parse_sync_action(a, entity) for a in definition.get("syncActions") or ()]
    return [a for a in parsed if isinstance(a, SyncAction)]


@dataclass(frozen=True)
class CompiledFilter:
    """A filter ready to run: the predicate, the fields it reads, and the activity scope it implies."""

    predicate: Callable[[Mapping[str, Any]], bool] | None
    fields: tuple[Field, ...]  # columns the predicate reads (id first when EXISTS is used)
    activity_types: tuple[str, ...]  # types an activity export can match
    date_bounds: tuple[datetime | None, datetime | None]  # CreatedAt bounds (UTC, inclusive) of the filter
    instance_time: frozenset[str] = frozenset()  # keys of date fields the predicate reads in instance time
    external_types: tuple[str, ...] = EXTERNAL_ACTIVITY_TYPES  # external activity types it can match


def compile_definition_filter(
    text: str | None,
    entity: Entity,
    clock: Clock | None = None,
    system_timestamps_in_utc: bool = False,
    membership: Callable[[MemberList], Callable[[int], bool]] | None = None,
) -> CompiledFilter:
    """Parse and compile ``text`` for ``entity``; raise ``eel.EELError`` or ``ValueError`` (a constraint).

    With ``clock``, each date field is read in the clock its export prints it in (custom dates in the
    instance's time zone; system timestamps too unless ``system_timestamps_in_utc``), so a literal means
    what the client sees in the data; the predicate then expects those fields' row values (keys in
    ``instance_time``) as naive local times. Without, every date is compared in UTC (validation only).
    ``membership`` gives a list's current membership test (its rule with sync actions' changes).
    """
    if not text or not text.strip():
        return CompiledFilter(None, (), ACTIVITY_TYPES, (None, None))
    expr = eel.parse(text)
    summary = eel.summarize(expr)
    if len(summary.exists) > 1:
        raise ValueError("Must contain at most one EXISTS.")
    if len(summary.statuses) > 1:
        raise ValueError("Must contain at most one STATUS.")
    if summary.statuses:
        raise ValueError(
            "Must reference service instance within a workflow (the sandbox has no action "
            "instances, so STATUS cannot be used)."
        )
    if entity is ACTIVITY_ENTITY and any(
        s.replace(" ", "").lower().startswith(("{{contact.", "{{activity.contact.field(")) for s in summary.fields
    ):
        raise ValueError("Contact fields cannot be used in an activity export filter.")
    used: dict[str, Field] = {}
    id_field = (
        entity.resolve(f"{{{{{entity.label}.Id}}}}") if entity.label in ("Contact", "Account") else None
    )
    if summary.exists:
        kind = {"contacts": "Contact", "accounts": "AccountList"}.get(entity.name)
        ml = member_list(summary.exists[0])
        if kind is None or ml is None or ml.entity != entity.name or id_field is None:
            raise ValueError(
                f"EXISTS must reference an existing list of this entity ({entity.name}); "
                "see /contacts/lists, /contacts/segments, /contacts/filters or /accounts/lists."
            )
        used["id"] = id_field
        if ml.kind in ("ContactList", "ContactSegment"):
            _check_membership_filter(expr)

    local: set[str] = set()

    def resolve(statement: str) -> eel.Resolved | None:
        f = entity.resolve(statement)
        if f is None:
            return None
        used.setdefault(f.key, f)
        if clock is not None and f.in_instance_time(system_timestamps_in_utc):
            local.add(f.key)
            return f.key, f.filter_type, clock.tz
        return f.key, f.filter_type

    def exists(statement: str) -> Callable[[Mapping[str, Any]], bool]:
        ml = member_list(statement)
        assert ml is not None
        test = membership(ml) if membership is not None else ml.is_member
        return lambda row: row["id"] is not None and test(int(row["id"]))

    predicate = eel.compile_filter(expr, resolve, exists=exists)
    types: tuple[str, ...] = ACTIVITY_TYPES
    external: tuple[str, ...] = EXTERNAL_ACTIVITY_TYPES
    bounds: tuple[datetime | None, datetime | None] = (None, None)
    if entity is ACTIVITY_ENTITY:
        all_types, bounds = _activity_scope(expr)
        types = tuple(t for t in all_types if t in ACTIVITY_TYPES)
        external = tuple(t for t in all_types if t in EXTERNAL_ACTIVITY_TYPES)
        if "created_at" in local:
            # Bounds in local time (or UTC for offset literals): a day's margin covers any UTC offset.
            lo, hi = bounds
            bounds = (
                None if lo is None else lo - timedelta(days=1),
                None if hi is None else hi + timedelta(days=1),
            )
    return CompiledFilter(predicate, tuple(used.values()), types, bounds, frozenset(local), external)


# The contact date statements a list or segment filter may be combined with.
_MEMBERSHIP_DATES = frozenset(
    normalize_statement(s)
    for s in (
        "{{Contact.CreatedAt}}",
        "{{Contact.UpdatedAt}}",
        "{{Contact.Field(C_DateCreated)}}",
        "{{Contact.Field(C_DateModified)}}",
    )
)
_MEMBERSHIP_RULE = (
    "A filter on a contact list or segment may add at most two date criteria on {{Contact.CreatedAt}}, "
    "{{Contact.UpdatedAt}}, C_DateCreated or C_DateModified, as EXISTS(...) AND d, EXISTS(...) AND d1 AND d2 "
    "or EXISTS(...) AND (d1 OR d2)."
)


def _check_membership_filter(expr: eel.Expr) -> None:
    """Eloqua's rule for list and segment exports: nothing but up to two date criteria beside the EXISTS."""

    def is_date(node: eel.Expr) -> bool:
        return isinstance(node, eel.Compare) and normalize_statement(node.field) in _MEMBERSHIP_DATES

    if isinstance(expr, eel.Exists):
        return
    if not isinstance(expr, eel.And):
        raise ValueError(_MEMBERSHIP_RULE)
    operands: list[eel.Expr] = []
    for operand in expr.operands:
        operands.extend(operand.operands if isinstance(operand, eel.And) else (operand,))
    rest: list[eel.Expr] = [o for o in operands if not isinstance(o, eel.Exists)]
    if len(rest) == 1 and isinstance(rest[0], eel.Or):
        rest = list(rest[0].operands)
        if len(rest) != 2:
            raise ValueError(_MEMBERSHIP_RULE)
    if len(operands) - len(rest) > 1 or not 1 <= len(rest) <= 2 or not all(is_date(o) for o in rest):
        raise ValueError(_MEMBERSHIP_RULE)


def _check_activity_fields(resolved: Mapping[str, Field], types: tuple[str, ...], out: list[Failure]) -> None:
    """Activity exports: each field must belong to every type the filter selects (a filter that pins no
    type selects all), and at most ``MAX_ACTIVITY_CONTACT_FIELDS`` contact fields."""
    for name, f in resolved.items():
        missing = [t for t in types if t not in (f.activity_types or ACTIVITY_TYPES)]
        if missing and len(types) < len(ACTIVITY_TYPES):
            out.append(
                failure(
                    f"fields.{name}",
                    f"Field is not available for activity type {missing[0]} (it belongs to "
                    f"{', '.join(f.activity_types or ())}); see /activities/fields?activityType={missing[0]}.",
                    f.statement,
                )
            )
    contact = [n for n, f in resolved.items() if is_activity_contact_field(f)]
    if len(contact) > MAX_ACTIVITY_CONTACT_FIELDS:
        out.append(
            failure(
                "fields",
                f"An activity export may include at most {MAX_ACTIVITY_CONTACT_FIELDS} contact fields; "
                f"found {len(contact)}.",
            )
        )


def _activity_scope(expr: eel.Expr) -> tuple[tuple[str, ...], tuple[datetime | None, datetime | None]]:
    """Which types and which CreatedAt range a filter can match, so only those (type, day)s are generated.

    Sound over AND/OR (intersection/union); anything under NOT, or any other comparison, leaves the scope
    open.
    """
    universe = ACTIVITY_TYPES + EXTERNAL_ACTIVITY_TYPES
    everything: tuple[frozenset[str], datetime | None, datetime | None] = (frozenset(universe), None, None)

    def walk(node: eel.Expr) -> tuple[frozenset[str], datetime | None, datetime | None]:
        if isinstance(node, eel.Compare):
            f = ACTIVITY_ENTITY.resolve(node.field)
            if f is not None and f.key == "type" and node.op == "=":
                named = canonical_activity_type(node.literal) or next(
                    (t for t in EXTERNAL_ACTIVITY_TYPES if t.casefold() == node.literal.strip().casefold()), None
                )
                return (frozenset({named}) if named else frozenset(), None, None)
            if f is not None and f.key == "created_at" and node.op in ("=", ">", ">=", "<", "<="):
                value = parse_timestamp(node.literal)
                if value is None:
                    return everything
                lo = value if node.op in ("=", ">", ">=") else None
                hi = value if node.op in ("=", "<", "<=") else None
                return (frozenset(universe), lo, hi)
            return everything
        if isinstance(node, eel.And):
            types, lo, hi = everything
            for operand in node.operands:
                t, a, b = walk(operand)
                types &= t
                lo = a if lo is None or (a is not None and a > lo) else lo
                hi = b if hi is None or (b is not None and b < hi) else hi
            return types, lo, hi
        if isinstance(node, eel.Or):
            parts = [walk(o) for o in node.operands]
            types = frozenset().union(*(p[0] for p in parts))
            lows = [p[1] for p in parts]
            highs = [p[2] for p in parts]
            lo = None if any(v is None for v in lows) else min(v for v in lows if v is not None)
            hi = None if any(v is None for v in highs) else max(v for v in highs if v is not None)
            return types, lo, hi
        return everything

    types, lo, hi = walk(expr)
    return tuple(t for t in universe if t in types), (lo, hi)


def scope_days(bounds: tuple[datetime | None, datetime | None], days: list[date]) -> list[date]:
    lo, hi = bounds
    return [d for d in days if (lo is None or d >= lo.date()) and (hi is None or d <= hi.date())]


def validate_export(body: Any, entity: Entity) -> tuple[dict[str, Any], list[Failure]]:
    out: list[Failure] = []
    if not isinstance(body, dict):
        return {}, [failure("body", "Must be a JSON object.")]
    _check_name(body, out)
    resolved = _check_fields(body, entity, MAX_EXPORT_FIELDS, out)
    types: tuple[str, ...] = ACTIVITY_TYPES
    flt = body.get("filter")
    if flt is not None and flt != "":
        if not isinstance(flt, str):
            out.append(failure("filter", "Must be a string.", flt))
        elif len(flt) > MAX_FILTER:
            out.append(
                failure(
                    "filter",
                    f"Must be at most {MAX_FILTER} characters long; found {len(flt)}.",
                    flt[:100] + "...",
                )
            )
        else:
            try:
                types = compile_definition_filter(flt, entity).activity_types
            except (eel.EELError, ValueError) as exc:
                out.append(failure("filter", str(exc), flt))
    if entity is ACTIVITY_ENTITY:
        _check_activity_fields(resolved, types, out)
    _check_duration(body, "dataRetentionDuration", timedelta(hours=1), timedelta(days=14), out)
    _check_duration(body, "autoDeleteDuration", timedelta(hours=1), None, out)
    _check_bool(body, "areSystemTimestampsInUTC", out)
    if (
        "maxRecords" in body
        and body["maxRecords"] is not None
        and (
            isinstance(body["maxRecords"], bool)
            or not isinstance(body["maxRecords"], int)
            or body["maxRecords"] < 1
        )
    ):
        out.append(failure("maxRecords", "Must be a positive integer.", body["maxRecords"]))
    _check_sync_actions(body, entity, out)
    definition = {k: v for k, v in body.items() if k not in READ_ONLY_KEYS}
    definition.setdefault("dataRetentionDuration", EXPORT_RETENTION_DEFAULT)
    return definition, out


def validate_import(body: Any, entity: Entity) -> tuple[dict[str, Any], list[Failure]]:
    out: list[Failure] = []
    if not isinstance(body, dict):
        return {}, [failure("body", "Must be a JSON object.")]
    _check_name(body, out)
    resolved = _check_fields(body, entity, MAX_IMPORT_FIELDS, out)
    ident = body.get("identifierFieldName")
    if not isinstance(ident, str) or not ident:
        out.append(
            failure("identifierFieldName", "Must be the name of one of the definition's fields.", ident)
        )
    elif isinstance(body.get("fields"), dict) and ident not in body["fields"]:
        out.append(failure("identifierFieldName", "Must be one of the keys of 'fields'.", ident))
    elif ident in resolved and resolved[ident].data_type in ("date", "boolean", "largeText"):
        out.append(
            failure(
                "identifierFieldName", "Large Text, Date and Boolean fields cannot be identifiers.", ident
            )
        )
    for name, f in resolved.items():
        if f.read_only and name != ident:
            out.append(
                failure(f"fields.{name}", "Field is read-only and cannot be imported.", body["fields"][name])
            )
    rule = body.get("updateRule", "always")
    if rule not in UPDATE_RULES:
        out.append(failure("updateRule", f"Must be one of {', '.join(UPDATE_RULES)}.", rule))
    by_field = body.get("updateRuleByField")
    if by_field is not None:
        if not isinstance(by_field, dict) or any(
            k not in (body.get("fields") or {}) or v not in UPDATE_RULES[:3] for k, v in by_field.items()
        ):
            out.append(
                failure(
                    "updateRuleByField",
                    "Must map field names of 'fields' to always, ifNewIsNotNull or ifExistingIsNull.",
                )
            )
    for key in ("isSyncTriggeredOnImport", "isUpdatingMultipleMatchedRecords"):
        _check_bool(body, key, out)
    _check_duration(body, "dataRetentionDuration", timedelta(hours=1), timedelta(days=14), out)
    _check_duration(body, "autoDeleteDuration", timedelta(hours=1), None, out)
    _check_sync_actions(body, entity, out)
    definition = {k: v for k, v in body.items() if k not in READ_ONLY_KEYS}
    definition.setdefault("isSyncTriggeredOnImport", True)
    definition.setdefault("isUpdatingMultipleMatchedRecords", False)
    definition.setdefault("updateRule", "always")
    definition.setdefault("dataRetentionDuration", IMPORT_RETENTION_DEFAULT)
    return definition, out


# --- external activity imports (/activities/imports) -------------------------------------------------------

ACTIVITY_IMPORT_REQUIRED = {
    "type": "{{Activity.Type}}",
    "asset_type": "{{Activity.Asset.Type}}",
    "asset_name": "{{Activity.Asset.Name}}",
    "created_at": "{{Activity.CreatedAt}}",
}
ACTIVITY_IMPORT_CONTACT = ("{{Activity.Contact.Field(C_EmailAddress)}}", "{{Activity.Contact.Id}}")
ACTIVITY_IMPORT_OPTIONAL = ("{{Activity.Campaign.Id}}", "{{Activity.ExternalId}}")
_ACTIVITY_IMPORT_STATEMENTS = frozenset(
    normalize_statement(s)
    for s in (*ACTIVITY_IMPORT_REQUIRED.values(), *ACTIVITY_IMPORT_CONTACT, *ACTIVITY_IMPORT_OPTIONAL)
)


def validate_activity_import(body: Any) -> tuple[dict[str, Any], list[Failure]]:
    """An external activity import: the activity's type, asset type and name, date and contact (by email
    address or id), optionally its campaign and external id; nothing else (Eloqua imports only external
    activities)."""
    out: list[Failure] = []
    if not isinstance(body, dict):
        return {}, [failure("body", "Must be a JSON object.")]
    _check_name(body, out)
    fields = body.get("fields")
    if not isinstance(fields, dict) or not fields:
        out.append(failure("fields", "Must be an object mapping at least one name to an EML statement."))
        fields = {}
    elif len(fields) > MAX_IMPORT_FIELDS:
        out.append(failure("fields", f"Must contain at most {MAX_IMPORT_FIELDS} fields; found {len(fields)}."))
    statements = {}
    for name, statement in fields.items():
        if not isinstance(statement, str) or normalize_statement(statement) not in _ACTIVITY_IMPORT_STATEMENTS:
            out.append(failure(
                f"fields.{name}",
                "Must be one of the external activity statements: "
                + ", ".join((*ACTIVITY_IMPORT_REQUIRED.values(), *ACTIVITY_IMPORT_CONTACT, *ACTIVITY_IMPORT_OPTIONAL))
                + ".",
                statement,
            ))
        else:
            statements[normalize_statement(statement)] = name
    for statement in ACTIVITY_IMPORT_REQUIRED.values():
        if normalize_statement(statement) not in statements:
            out.append(failure("fields", f"An external activity import needs {statement}."))
    if not any(normalize_statement(s) in statements for s in ACTIVITY_IMPORT_CONTACT):
        contact = " or ".join(ACTIVITY_IMPORT_CONTACT)
        out.append(failure("fields", f"An external activity import needs the contact: {contact}."))
    ident = body.get("identifierFieldName")
    if ident is not None and (not isinstance(ident, str) or ident not in fields):
        out.append(failure("identifierFieldName", "Must be one of the keys of 'fields'.", ident))
    for key in ("isSyncTriggeredOnImport",):
        _check_bool(body, key, out)
    _check_duration(body, "dataRetentionDuration", timedelta(hours=1), timedelta(days=14), out)
    _check_duration(body, "autoDeleteDuration", timedelta(hours=1), None, out)
    if body.get("syncActions"):
        out.append(failure("syncActions", "External activity imports take no sync actions."))
    definition = {k: v for k, v in body.items() if k not in READ_ONLY_KEYS}
    definition.setdefault("isSyncTriggeredOnImport", True)
    definition.setdefault("updateRule", "always")
    definition.setdefault("dataRetentionDuration", IMPORT_RETENTION_DEFAULT)
    return definition, out


# --- sync action definitions (/contacts/syncActions, /accounts/syncActions) -------------------------------


def validate_sync_action_definition(body: Any, entity: Entity) -> tuple[dict[str, Any], list[Failure]]:
    """A sync action definition: ``fields`` naming the records by one of the identifier statements Eloqua
    allows, ``identifierFieldName`` (a key of ``fields``) and 1..10 ``syncActions``."""
    out: list[Failure] = []
    if not isinstance(body, dict):
        return {}, [failure("body", "Must be a JSON object.")]
    _check_name(body, out)
    resolved = _check_fields(body, entity, MAX_IMPORT_FIELDS, out)
    allowed = SYNC_ACTION_IDENTIFIERS[entity.name]
    ident = body.get("identifierFieldName")
    if not isinstance(ident, str) or not isinstance(body.get("fields"), dict) or ident not in body["fields"]:
        out.append(failure("identifierFieldName", "Must be one of the keys of 'fields'.", ident))
    elif ident in resolved and all(resolved[ident] is not entity.resolve(s) for s in allowed):
        out.append(failure(
            "identifierFieldName",
            f"The identifier must be one of {', '.join(allowed)}.",
            body["fields"][ident],
        ))
    if not body.get("syncActions"):
        out.append(failure("syncActions", "Must contain at least one sync action."))
    _check_sync_actions(body, entity, out)
    _check_bool(body, "isSyncTriggeredOnImport", out)
    _check_duration(body, "dataRetentionDuration", timedelta(hours=1), timedelta(days=14), out)
    _check_duration(body, "autoDeleteDuration", timedelta(hours=1), None, out)
    definition = {k: v for k, v in body.items() if k not in READ_ONLY_KEYS}
    definition.setdefault("isSyncTriggeredOnImport", True)
    definition.setdefault("dataRetentionDuration", IMPORT_RETENTION_DEFAULT)
    return definition, out


SYNC_ACTION_ENTITIES = (CONTACT_ENTITY, ACCOUNT_ENTITY)
