"""The sandbox application: routes, handlers and replies, independent of the HTTP server that carries them.

``Sandbox.handle(method, target, headers, body)`` answers one request. Bulk routes live under
``/api/bulk/2.0`` (case-insensitive, ``//`` collapsed) and need Basic or Bearer credentials; ``/id`` and
``/auth/oauth2/token`` are the login host; ``/sandbox/...`` are the admin routes of the test harness (no auth,
sandbox-only). Error bodies are JSON: validation errors use Eloqua's ``{"failures": [...]}`` shape, other
errors a JSON string such as ``"There was a conflict."``.
"""

from __future__ import annotations

import json
import re
import threading
import uuid
from collections import Counter, defaultdict
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any
from urllib.parse import parse_qsl, urlsplit

from scc_sandbox.auth import Authenticator, Credentials
from scc_sandbox.catalog import (
    ACTIVITY_ENTITY,
    ACTIVITY_TYPES,
    CAMPAIGN_RESPONSE_ENTITY,
    CONTACT_ENTITY,
    CUSTOM_OBJECTS,
    EMAIL_GROUPS,
    EVENTS,
    EXTERNAL_ACTIVITY_TYPES,
    MEMBER_LISTS,
    SCORING_MODELS,
    Entity,
    Field,
    activity_fields,
    canonical_activity_type,
    entity_for,
)
from scc_sandbox.definitions import (
    SYNC_ACTION_ENTITIES,
    Failure,
    failure,
    validate_activity_import,
    validate_export,
    validate_import,
    validate_sync_action_definition,
)
from scc_sandbox.faults import STATUS_BODIES, Fault, Faults, FaultSpecError
from scc_sandbox.formats import api_ts, parse_duration
from scc_sandbox.imports import MAX_POST_BYTES, MAX_POSTS_PER_SYNC, BadData, parse_posted, staged_imports
from scc_sandbox.store import Store, csv_line, json_dumps
from scc_sandbox.syncs import ACTIVE, SyncEngine
from scc_sandbox.synth import data_days

BULK_PREFIX = "/api/bulk/2.0"
JSON = "application/json; charset=utf-8"
CATALOG_TS = "2024-01-15T09:30:00.0000000Z"
_ENTITY = r"(?P<entity>contacts|accounts|activities|customobjects/\d+|campaignresponses|events/\d+)"
_KINDS = {"exports": "exports", "imports": "imports", "syncactions": "syncActions"}
_SLASHES = re.compile(r"/{2,}")


@dataclass
class Reply:
    status: int
    body: bytes = b""
    content_type: str = JSON
    headers: dict[str, str] = field(default_factory=dict)
    drop: bool = False  # fault: cut the connection mid-body


def json_reply(status: int, value: Any) -> Reply:
    return Reply(status, json_dumps(value).encode())


def message(status: int, text: str) -> Reply:
    return json_reply(status, text)


def failures(items: list[Failure], status: int = 400) -> Reply:
    return json_reply(status, {"failures": items})


NOT_FOUND = "There was a missing reference."


@dataclass
class Request:
    method: str
    path: str  # collapsed slashes, original case, no query
    query: dict[str, str]  # keys lower-cased
    headers: Mapping[str, str]
    body: bytes
    match: re.Match[str] | None = None
    user: str | None = None

    def header(self, name: str) -> str:
        return self.headers.get(name) or ""

    def group(self, name: str) -> str:
        assert self.match is not None
        return self.match.group(name)


Handler = Callable[["Sandbox", Request], Reply]


@dataclass(frozen=True)
class Route:
    method: str
    pattern: re.Pattern[str]
    handler: str  # method name on Sandbox
    area: str  # bulk | login | admin


def _r(method: str, pattern: str, handler: str, area: str = "bulk") -> Route:
    prefix = r"/api/bulk/2\.0" if area == "bulk" else ""
    return Route(method, re.compile(f"{prefix}{pattern}/?", re.IGNORECASE), handler, area)


ROUTES: tuple[Route, ...] = (
    _r("GET", "/id", "get_id", "login"),
    _r("POST", "/auth/oauth2/token", "post_token", "login"),
    _r("GET", "/sandbox/state", "get_state", "admin"),
    _r("GET", "/sandbox/faults", "get_faults", "admin"),
    _r("PUT", "/sandbox/faults", "put_faults", "admin"),
    _r("DELETE", "/sandbox/faults", "delete_faults", "admin"),
    _r("POST", "/sandbox/clock", "post_clock", "admin"),
    _r("GET", r"/sandbox/dump/(?P<what>contacts|accounts|activities|customobjects/\d+|campaignresponses|events/\d+)",
       "get_dump", "admin"),
    _r("GET", r"/sandbox/dump/emailgroups/(?P<id>\d+)", "get_email_group_dump", "admin"),
    _r("GET", r"/(?P<entity>contacts|accounts)/fields", "list_fields"),
    _r("GET", r"/(?P<entity>contacts|accounts)/fields/(?P<id>\d+)", "get_field"),
    _r("GET", r"/activities/fields", "list_activity_fields"),
    _r("GET", r"/activities/fields/(?P<id>\d+)", "get_activity_field"),
    _r("GET", r"/customobjects", "list_custom_objects"),
    _r("GET", r"/customobjects/(?P<cdo>\d+)", "get_custom_object"),
    _r("GET", r"/(?P<entity>customobjects/\d+)/fields", "list_fields"),
    _r("GET", r"/(?P<entity>customobjects/\d+)/fields/(?P<id>\d+)", "get_field"),
    _r("GET", r"/(?P<entity>contacts)/(?P<kind>lists|segments|filters)", "list_member_lists"),
    _r("GET", r"/(?P<entity>accounts)/(?P<kind>lists)", "list_member_lists"),
    _r("GET", r"/(?P<entity>contacts)/(?P<kind>lists|segments|filters)/(?P<id>\d+)", "get_member_list"),
    _r("GET", r"/(?P<entity>accounts)/(?P<kind>lists)/(?P<id>\d+)", "get_member_list"),
    _r("GET", r"/contacts/scoring/models", "list_scoring_models"),
    _r("GET", r"/contacts/scoring/models/(?P<id>\d+)", "get_scoring_model"),
    _r("GET", r"/(?P<entity>campaignresponses)/fields", "list_fields"),
    _r("GET", r"/(?P<entity>campaignresponses)/fields/(?P<id>\d+)", "get_field"),
    _r("GET", r"/events", "list_events"),
    _r("GET", r"/events/(?P<event>\d+)", "get_event"),
    _r("GET", r"/(?P<entity>events/\d+)/fields", "list_fields"),
    _r("GET", r"/(?P<entity>events/\d+)/fields/(?P<id>\d+)", "get_field"),
    _r("GET", r"/(?P<kind>exports|imports)", "list_all_definitions"),
    _r("POST", f"/{_ENTITY}/(?P<kind>exports|imports|syncactions)", "create_definition"),
    _r("GET", f"/{_ENTITY}/(?P<kind>exports|imports|syncactions)", "list_definitions"),
    _r("GET", f"/{_ENTITY}/(?P<kind>exports|imports|syncactions)/(?P<id>\\d+)", "get_definition"),
    _r("PUT", f"/{_ENTITY}/(?P<kind>exports|imports|syncactions)/(?P<id>\\d+)", "put_definition"),
    _r("DELETE", f"/{_ENTITY}/(?P<kind>exports|imports|syncactions)/(?P<id>\\d+)", "delete_definition"),
    _r("GET", f"/{_ENTITY}/exports/(?P<id>\\d+)/data", "get_definition_data"),
    _r("DELETE", f"/{_ENTITY}/exports/(?P<id>\\d+)/data", "delete_definition_data"),
    _r("POST", f"/{_ENTITY}/(?P<kind>imports|syncactions)/(?P<id>\\d+)/data", "post_import_data"),
    _r("DELETE", f"/{_ENTITY}/(?P<kind>imports|syncactions)/(?P<id>\\d+)/data", "delete_import_data"),
    _r("POST", "/syncs", "create_sync"),
    _r("GET", "/syncs", "list_syncs"),
    _r("GET", r"/syncs/(?P<id>\d+)", "get_sync"),
    _r("GET", r"/syncs/(?P<id>\d+)/logs", "get_sync_logs"),
    _r("GET", r"/syncs/(?P<id>\d+)/data", "get_sync_data"),
    _r("DELETE", r"/syncs/(?P<id>\d+)/data", "delete_sync_data"),
    _r("GET", r"/syncs/(?P<id>\d+)/rejects", "get_sync_rejects"),
)


def route_key(method: str, path: str) -> str:
    """The name a request is counted under: bulk paths relative to the bulk base, ids as ``{id}``."""
    lowered = path.lower().rstrip("/") or "/"
    if lowered.startswith(BULK_PREFIX):
        lowered = lowered[len(BULK_PREFIX) :] or "/"
    camel = {"customobjects": "customObjects", "campaignresponses": "campaignResponses", "syncactions": "syncActions"}
    segments = ["{id}" if s.isdigit() else camel.get(s, s) for s in lowered.split("/")]
    return f"{method} {'/'.join(segments)}"


def _canonical_entity(name: str) -> str:
    entity = entity_for(name)
    return entity.name if entity is not None else name.lower()


class Sandbox:
    """One sandbox: the store, the sync engine, faults, credentials and request statistics."""

    def __init__(
        self,
        store: Store,
        creds: Credentials,
        faults: Faults,
        sync_delay: float,
        activity_cap: int | None = None,
    ) -> None:
        self.store, self.creds, self.faults = store, creds, faults
        self.auth = Authenticator(creds, store)
        kwargs = {"activity_cap": activity_cap} if activity_cap else {}
        self.engine = SyncEngine(store, faults, sync_delay, **kwargs)
        self.base_url = ""
        self._stats_lock = threading.Lock()
        self.requests: dict[str, Counter[str]] = defaultdict(Counter)

    def close(self) -> None:
        self.engine.stop()
        self.store.close()

    # --- dispatch -------------------------------------------------------------------------------------------

    def handle(self, method: str, target: str, headers: Mapping[str, str], body: bytes) -> Reply:
        method = method.upper()
        override = headers.get("X-HTTP-Method-Override")
        if override and method == "POST":
            method = override.upper()
        split = urlsplit(target)
        path = _SLASHES.sub("/", split.path) or "/"
        query = {k.lower(): v for k, v in parse_qsl(split.query, keep_blank_values=True)}
        key = route_key(method, path)
        req = Request(method, path, query, headers, body)
        reply = self._dispatch(req, key)
        reply.headers.setdefault("X-Request-Id", str(uuid.uuid4()))
        if headers.get("X-HTTP-Status-Code-Override", "").lower() in ("true", "1") and reply.status != 200:
            reply.headers["X-HTTP-Original-Status-Code"] = str(reply.status)
            reply.status = 200
        with self._stats_lock:
            self.requests[key][str(reply.status)] += 1
        return reply

    def _dispatch(self, req: Request, key: str) -> Reply:
        allowed: list[str] = []
        for route in ROUTES:
            m = route.pattern.fullmatch(req.path)
            if m is None:
                continue
            if route.method != req.method:
                allowed.append(route.method)
                continue
            req.match = m
            if route.area != "admin":
                fault = self.faults.on_request(key, req.method, req.path)
                if fault is not None and fault.kind == "status":
                    return self._fault_reply(fault)
            else:
                fault = None
            if route.area == "bulk":
                req.user = self.auth.user_for(req.header("Authorization"))
                if req.user is None:
                    return message(401, "Not authenticated.")
                if req.method in ("POST", "PUT") and not req.header("Content-Type"):
                    return failures(
                        [failure("Content-Type", "The Content-Type header is required for POST and PUT.")]
                    )
            try:
                reply = getattr(self, route.handler)(req)
            except _BadQuery as exc:
                reply = failures([exc.failure])
            if fault is not None and fault.kind == "drop":
                reply.drop = True
            return reply
        if allowed:
            return Reply(
                405, json_dumps("Method not allowed.").encode(), headers={"Allow": ", ".join(allowed)}
            )
        return message(404, "Not Found")

    @staticmethod
    def _fault_reply(fault: Fault) -> Reply:
        status = int(fault.spec["status"])
        return message(status, str(fault.spec.get("body", STATUS_BODIES.get(status, "Error"))))

    # --- helpers --------------------------------------------------------------------------------------------

    def _json_body(self, req: Request) -> Any:
        try:
            return json.loads(req.body.decode("utf-8") or "null")
        except (UnicodeDecodeError, json.JSONDecodeError):
            raise _BadQuery(
                failure("body", "There was a parsing error: the body must be UTF-8 JSON.")
            ) from None

    def _paging(self, req: Request, max_limit: int = 1000, default: int = 1000) -> tuple[int, int, bool]:
        limit = _int_param(req, "limit", default)
        offset = _int_param(req, "offset", 0)
        if not 1 <= limit <= max_limit:
            raise _BadQuery(failure("limit", f"Must be between 1 and {max_limit}.", str(limit)))
        if offset < 0:
            raise _BadQuery(failure("offset", "Must be 0 or greater.", str(offset)))
        total = req.query.get("totalresults", "true").lower() != "false"
        return limit, offset, total

    def _list(self, req: Request, items: list[dict[str, Any]]) -> Reply:
        limit, offset, total = self._paging(req)
        q = req.query.get("q")
        if q:
            items = _q_filter(items, q)
        page = items[offset : offset + limit]
        body: dict[str, Any] = {}
        if page:
            body["items"] = page
        if total:
            body["totalResults"] = len(items)
        body.update(limit=limit, offset=offset, count=len(page), hasMore=offset + len(page) < len(items))
        return json_reply(200, body)

    # --- login host -----------------------------------------------------------------------------------------

    def get_id(self, req: Request) -> Reply:
        user = self.auth.user_for(req.header("Authorization"))
        if user is None:
            return message(200, "Not authenticated.")
        base = self.base_url
        return json_reply(
            200,
            {
                "site": {"id": 42, "name": self.creds.site},
                "user": {
                    "id": self.creds.user_id(user),
                    "username": user,
                    "displayName": f"SCC Sandbox ({user})",
                    "firstName": "SCC",
                    "lastName": "Sandbox",
                    "emailAddress": f"{user}@sandbox.invalid",
                },
                "urls": {
                    "base": base,
                    "apis": {
                        "soap": {
                            "standard": f"{base}/API/{{version}}/Service.svc",
                            "dataTransfer": f"{base}/API/{{version}}/DataTransferService.svc",
                            "email": f"{base}/API/{{version}}/EmailService.svc",
                            "externalAction": f"{base}/API/{{version}}/ExternalActionService.svc",
                        },
                        "rest": {
                            "standard": f"{base}/API/REST/{{version}}/",
                            "bulk": f"{base}/api/bulk/{{version}}/",
                        },
                    },
                },
            },
        )

    def post_token(self, req: Request) -> Reply:
        ctype = req.header("Content-Type").lower()
        form: dict[str, Any]
        if "json" in ctype:
            parsed = self._json_body(req)
            form = parsed if isinstance(parsed, dict) else {}
        else:
            form = dict(parse_qsl(req.body.decode("utf-8", "replace")))
        status, body = self.auth.token(req.header("Authorization"), form)
        reply = json_reply(status, body)
        reply.headers["Cache-Control"] = "no-store"
        return reply

    # --- metadata -------------------------------------------------------------------------------------------

    def _field_json(self, entity: Entity, f: Field) -> dict[str, Any]:
        return {
            "name": f.name,
            "internalName": f.internal_name,
            "dataType": f.data_type,
            "hasReadOnlyConstraint": f.read_only,
            "hasNotNullConstraint": f.unique,
            "hasUniquenessConstraint": f.unique,
            "statement": f.statement,
            "uri": f"/{entity.name}/fields/{f.field_id}",
            "createdAt": CATALOG_TS,
            "updatedAt": CATALOG_TS,
            **({"activityTypes": list(f.activity_types)} if f.activity_types is not None else {}),
        }

    def _entity(self, req: Request) -> Entity:
        entity = entity_for(req.group("entity"))
        if entity is None:
            raise _NotFound
        return entity

    def list_fields(self, req: Request) -> Reply:
        try:
            entity = self._entity(req)
        except _NotFound:
            return message(404, NOT_FOUND)
        return self._list(req, [self._field_json(entity, f) for f in entity.listed_fields()])

    def get_field(self, req: Request) -> Reply:
        try:
            entity = self._entity(req)
        except _NotFound:
            return message(404, NOT_FOUND)
        f = entity.field_by_id(int(req.group("id")))
        return json_reply(200, self._field_json(entity, f)) if f else message(404, NOT_FOUND)

    def list_activity_fields(self, req: Request) -> Reply:
        raw = req.query.get("activitytype")
        if raw is None:
            fields = ACTIVITY_ENTITY.listed_fields()
        else:
            activity_type = canonical_activity_type(raw)
            if activity_type is None:
                return failures(
                    [failure("activityType", f"Must be one of {', '.join(ACTIVITY_TYPES)}.", raw)]
                )
            fields = activity_fields(activity_type)
        return self._list(req, [self._field_json(ACTIVITY_ENTITY, f) for f in fields])

    def get_activity_field(self, req: Request) -> Reply:
        f = ACTIVITY_ENTITY.field_by_id(int(req.group("id")))
        return json_reply(200, self._field_json(ACTIVITY_ENTITY, f)) if f else message(404, NOT_FOUND)

    def _cdo_json(self, cdo_id: int) -> dict[str, Any]:
        cdo = CUSTOM_OBJECTS[cdo_id]
        base = f"/customObjects/{cdo_id}"
        out = {
            "name": cdo.name,
            "description": f"Sandbox custom object {cdo.name}",
            "displayNameFieldUri": f"{base}/fields/{cdo.display_field_id}",
            "uniqueFieldUri": f"{base}/fields/{cdo.unique_field_id}",
            "uri": base,
            "createdBy": "scc.admin",
            "createdAt": CATALOG_TS,
            "updatedBy": "scc.admin",
            "updatedAt": CATALOG_TS,
        }
        if cdo.email_field_id:
            out["emailAddressFieldUri"] = f"{base}/fields/{cdo.email_field_id}"
        return out

    def list_custom_objects(self, req: Request) -> Reply:
        return self._list(req, [self._cdo_json(i) for i in CUSTOM_OBJECTS])

    def get_custom_object(self, req: Request) -> Reply:
        cdo_id = int(req.group("cdo"))
        if cdo_id not in CUSTOM_OBJECTS:
            return message(404, NOT_FOUND)
        body = self._cdo_json(cdo_id)
        body["fields"] = [
            self._field_json(CUSTOM_OBJECTS[cdo_id].entity, f)
            for f in CUSTOM_OBJECTS[cdo_id].entity.listed_fields()
        ]
        return json_reply(200, body)

    def list_member_lists(self, req: Request) -> Reply:
        kind = {"lists": "ContactList", "segments": "ContactSegment", "filters": "ContactFilter"}[
            req.group("kind").lower()
        ]
        entity = req.group("entity").lower()
        if entity == "accounts":
            kind = "AccountList"
        items = [
            {
                "name": m.name,
                "statement": m.statement,
                "uri": f"/{entity}/{req.group('kind').lower()}/{m.id}",
                "createdAt": CATALOG_TS,
                "updatedAt": CATALOG_TS,
            }
            for m in MEMBER_LISTS
            if m.kind == kind
        ]
        return self._list(req, items)

    def get_member_list(self, req: Request) -> Reply:
        reply = self.list_member_lists(req)
        items = json.loads(reply.body).get("items", []) if reply.status == 200 else []
        wanted = f"/{req.group('entity').lower()}/{req.group('kind').lower()}/{int(req.group('id'))}"
        item = next((i for i in items if i["uri"] == wanted), None)
        return json_reply(200, item) if item else message(404, NOT_FOUND)

    def _scoring_model_json(self, model: Any) -> dict[str, Any]:
        fields = []
        for statement in model.statements:
            f = CONTACT_ENTITY.resolve(statement)
            assert f is not None
            fields.append({"name": f.name, "statement": f.statement, "dataType": f.data_type})
        return {
            "name": model.name,
            "status": model.status,
            "id": model.id,
            "fields": fields,
            "uri": f"/contacts/scoring/models/{model.id}",
            "createdBy": "scc.admin",
            "createdAt": CATALOG_TS,
            "updatedBy": "scc.admin",
            "updatedAt": CATALOG_TS,
        }

    def list_scoring_models(self, req: Request) -> Reply:
        return self._list(req, [self._scoring_model_json(m) for m in SCORING_MODELS])

    def get_scoring_model(self, req: Request) -> Reply:
        model = next((m for m in SCORING_MODELS if m.id == int(req.group("id"))), None)
        return json_reply(200, self._scoring_model_json(model)) if model else message(404, NOT_FOUND)

    def _event_json(self, event_id: int) -> dict[str, Any]:
        event = EVENTS[event_id]
        base = f"/events/{event_id}"
        return {
            "name": event.name,
            "description": f"Sandbox event {event.name}",
            "displayNameFieldUri": f"{base}/fields/{event.email_field_id}",
            "emailAddressFieldUri": f"{base}/fields/{event.email_field_id}",
            "uniqueFieldUri": f"{base}/fields/{event.email_field_id}",
            "uri": base,
            "createdBy": "scc.admin",
            "createdAt": CATALOG_TS,
            "updatedBy": "scc.admin",
            "updatedAt": CATALOG_TS,
        }

    def list_events(self, req: Request) -> Reply:
        return self._list(req, [self._event_json(i) for i in EVENTS])

    def get_event(self, req: Request) -> Reply:
        event_id = int(req.group("event"))
        if event_id not in EVENTS:
            return message(404, NOT_FOUND)
        body = self._event_json(event_id)
        body["fields"] = [self._field_json(EVENTS[event_id].entity, f) for f in EVENTS[event_id].entity.listed_fields()]
        return json_reply(200, body)

    # --- definitions ----------------------------------------------------------------------------------------

    def _definition(self, entity_name: str, kind: str, def_id: int) -> dict[str, Any] | None:
        rows = self.store.query(
            "SELECT id, kind, entity, body, created_at FROM definitions "
            "WHERE id = ? AND kind = ? AND lower(entity) = ? AND deleted = 0",
            (def_id, kind.lower(), entity_name.lower()),
        )
        if not rows:
            return None
        row = {"id": rows[0][0], "kind": rows[0][1], "entity": rows[0][2], "body": json.loads(rows[0][3])}
        auto = parse_duration(row["body"].get("autoDeleteDuration"))
        if auto is not None and datetime.fromisoformat(rows[0][4]) + auto < self.store.now():
            with self.store.tx() as conn:
                conn.execute("UPDATE definitions SET deleted = 1 WHERE id = ?", (def_id,))
            return None
        return row

    def _validate(self, kind: str, body: Any, entity: Entity) -> tuple[dict[str, Any], list[Failure]]:
        if kind == "exports":
            return validate_export(body, entity)
        if kind == "syncactions":
            return validate_sync_action_definition(body, entity)
        if entity is ACTIVITY_ENTITY:
            return validate_activity_import(body)
        return validate_import(body, entity)

    @staticmethod
    def _served(kind: str, entity: Entity) -> bool:
        """Whether the sandbox serves that kind of definition for the entity (campaign response and event
        imports and sync actions other than contacts' and accounts' are not modelled)."""
        if kind == "syncactions":
            return entity in SYNC_ACTION_ENTITIES
        if kind == "imports":
            return entity is not CAMPAIGN_RESPONSE_ENTITY and not entity.name.startswith("events/")
        return True

    def create_definition(self, req: Request) -> Reply:
        entity = entity_for(req.group("entity"))
        if entity is None:
            return message(404, NOT_FOUND)
        kind = req.group("kind").lower()
        if not self._served(kind, entity):
            return message(404, "Not Found")
        definition, errors = self._validate(kind, self._json_body(req), entity)
        if errors:
            return failures(errors)
        now = self.store.now()
        with self.store.tx() as conn:
            cur = conn.execute(
                "INSERT INTO definitions (kind, entity, body, created_by, created_at) "
                "VALUES (?, ?, '{}', ?, ?)",
                (kind, entity.name, req.user, now.isoformat()),
            )
            def_id = int(cur.lastrowid or 0)
            definition.update(
                uri=f"/{entity.name}/{_KINDS[kind]}/{def_id}",
                createdBy=req.user,
                createdAt=api_ts(now),
                updatedBy=req.user,
                updatedAt=api_ts(now),
            )
            conn.execute("UPDATE definitions SET body = ? WHERE id = ?", (json_dumps(definition), def_id))
        return json_reply(201, definition)

    def list_definitions(self, req: Request) -> Reply:
        entity_name = _canonical_entity(req.group("entity"))
        rows = self.store.query(
            "SELECT id FROM definitions WHERE kind = ? AND lower(entity) = ? AND deleted = 0 ORDER BY id",
            (req.group("kind").lower(), entity_name.lower()),
        )
        items = [
            d["body"]
            for (i,) in rows
            if (d := self._definition(entity_name, req.group("kind"), i)) is not None
        ]
        return self._list(req, items)

    def list_all_definitions(self, req: Request) -> Reply:
        kind = req.group("kind").lower()
        rows = self.store.query(
            "SELECT id, entity FROM definitions WHERE kind = ? AND deleted = 0 ORDER BY id", (kind,)
        )
        items = [d["body"] for i, e in rows if (d := self._definition(e, kind, i)) is not None]
        return self._list(req, items)

    def get_definition(self, req: Request) -> Reply:
        d = self._definition(_canonical_entity(req.group("entity")), req.group("kind"), int(req.group("id")))
        return json_reply(200, d["body"]) if d else message(404, NOT_FOUND)

    def put_definition(self, req: Request) -> Reply:
        entity = entity_for(req.group("entity"))
        kind = req.group("kind").lower()
        d = self._definition(_canonical_entity(req.group("entity")), kind, int(req.group("id")))
        if d is None or entity is None:
            return message(404, NOT_FOUND)
        definition, errors = self._validate(kind, self._json_body(req), entity)
        if errors:
            return failures(errors)
        now = api_ts(self.store.now())
        old = d["body"]
        definition.update(
            uri=old["uri"],
            createdBy=old["createdBy"],
            createdAt=old["createdAt"],
            updatedBy=req.user,
            updatedAt=now,
        )
        with self.store.tx() as conn:
            conn.execute("UPDATE definitions SET body = ? WHERE id = ?", (json_dumps(definition), d["id"]))
        return json_reply(200, definition)

    def delete_definition(self, req: Request) -> Reply:
        d = self._definition(_canonical_entity(req.group("entity")), req.group("kind"), int(req.group("id")))
        if d is None:
            return message(404, NOT_FOUND)
        with self.store.tx() as conn:
            conn.execute("UPDATE definitions SET deleted = 1 WHERE id = ?", (d["id"],))
            conn.execute("DELETE FROM import_posts WHERE def_id = ? AND sync_id IS NULL", (d["id"],))
        return Reply(204)

    # --- import data ----------------------------------------------------------------------------------------

    def post_import_data(self, req: Request) -> Reply:
        if len(req.body) > MAX_POST_BYTES:
            return message(404, "Not Found")
        d = self._definition(_canonical_entity(req.group("entity")), req.group("kind"), int(req.group("id")))
        if d is None:
            return message(404, NOT_FOUND)
        ctype = req.header("Content-Type").lower()
        if "json" not in ctype and "csv" not in ctype:
            return failures([failure("Content-Type", "Must be application/json or text/csv.", ctype)])
        (posts,) = self.store.query(
            "SELECT COUNT(*) FROM import_posts WHERE def_id = ? AND sync_id IS NULL", (d["id"],)
        )[0]
        if posts >= MAX_POSTS_PER_SYNC:
            return failures(
                [
                    failure(
                        "data",
                        f"There was a validation error: at most {MAX_POSTS_PER_SYNC} data "
                        "posts per sync; sync the staged data, then post more.",
                    )
                ]
            )
        try:
            rows = parse_posted(req.body, ctype, list(d["body"]["fields"]))
        except BadData as exc:
            return failures([failure("data", str(exc))])
        with self.store.tx() as conn:
            conn.execute(
                "INSERT INTO import_posts (def_id, sync_id, n_rows, rows) VALUES (?, NULL, ?, ?)",
                (d["id"], len(rows), json_dumps(rows)),
            )
        if d["body"].get("isSyncTriggeredOnImport"):
            sync = self.engine.create(req.user or "", d, None)
            return json_reply(201, self._sync_json(sync))
        return Reply(204)

    def delete_import_data(self, req: Request) -> Reply:
        d = self._definition(_canonical_entity(req.group("entity")), req.group("kind"), int(req.group("id")))
        if d is None:
            return message(404, NOT_FOUND)
        with self.store.tx() as conn:
            busy = conn.execute(
                "SELECT 1 FROM syncs WHERE def_id = ? AND status IN ('pending', 'active')", (d["id"],)
            ).fetchone()
            if busy:
                return message(409, "There was a conflict.")
            conn.execute("DELETE FROM import_posts WHERE def_id = ? AND sync_id IS NULL", (d["id"],))
        return Reply(204)

    # --- syncs ----------------------------------------------------------------------------------------------

    def _sync_json(self, sync: dict[str, Any]) -> dict[str, Any]:
        out: dict[str, Any] = {"syncedInstanceUri": sync["instance_uri"]}
        if sync["started_at"]:
            out["syncStartedAt"] = sync["started_at"]
        if sync["ended_at"]:
            out["syncEndedAt"] = sync["ended_at"]
        out.update(
            status=sync["status"],
            createdAt=sync["created_at"],
            createdBy=sync["user"],
            uri=f"/syncs/{sync['id']}",
        )
        if sync["callback_url"]:
            out["callbackUrl"] = sync["callback_url"]
        return out

    def create_sync(self, req: Request) -> Reply:
        body = self._json_body(req)
        if not isinstance(body, dict) or not isinstance(body.get("syncedInstanceUri"), str):
            return failures(
                [failure("syncedInstanceUri", "Must be the uri of an export or import definition.")]
            )
        uri = _SLASHES.sub("/", body["syncedInstanceUri"].strip())
        m = re.fullmatch(f"/{_ENTITY}/(?P<kind>exports|imports|syncactions)/(?P<id>\\d+)/?", uri, re.IGNORECASE)
        d = m and self._definition(_canonical_entity(m.group("entity")), m.group("kind"), int(m.group("id")))
        if not d:
            return failures(
                [
                    failure(
                        "syncedInstanceUri",
                        "Must reference an existing export or import definition.",
                        body["syncedInstanceUri"],
                    )
                ]
            )
        callback = body.get("callbackUrl")
        if callback is not None and not isinstance(callback, str):
            return failures([failure("callbackUrl", "Must be a URL.", callback)])
        entity = entity_for(d["entity"])
        assert entity is not None
        _definition, errors = self._validate(d["kind"], d["body"], entity)
        if errors:
            return failures(errors)
        sync = self.engine.create(req.user or "", d, callback)
        return json_reply(201, self._sync_json(sync))

    def list_syncs(self, req: Request) -> Reply:
        rows = self.store.query("SELECT id FROM syncs ORDER BY id")
        items = [self._sync_json(s) for (i,) in rows if (s := self.engine.get(i))]
        order = req.query.get("orderby")
        if order:
            # orderBy=<field> [ASC|DESC] over the sync's JSON keys (createdAt, status, uri, ...)
            parts = order.split()
            key = next((k for k in ("createdAt", "syncStartedAt", "syncEndedAt", "status", "uri",
                                    "syncedInstanceUri", "createdBy", "id") if k.lower() == parts[0].lower()), None)
            direction = parts[1].upper() if len(parts) > 1 else "ASC"
            if key is None or direction not in ("ASC", "DESC") or len(parts) > 2:
                return failures([failure("orderBy", "Must be a sync field, optionally followed by ASC or DESC.",
                                         order)])
            if key in ("id", "uri"):
                items.sort(key=lambda s: int(s["uri"].rsplit("/", 1)[1]), reverse=direction == "DESC")
            else:
                items.sort(key=lambda s: (s.get(key) is None, s.get(key) or ""), reverse=direction == "DESC")
        return self._list(req, items)

    def _sync(self, req: Request) -> dict[str, Any] | None:
        return self.engine.get(int(req.group("id")))

    def get_sync(self, req: Request) -> Reply:
        sync = self._sync(req)
        return json_reply(200, self._sync_json(sync)) if sync else message(404, NOT_FOUND)

    def get_sync_logs(self, req: Request) -> Reply:
        sync = self._sync(req)
        if sync is None:
            return message(404, NOT_FOUND)
        rows = self.store.query(
            "SELECT severity, status_code, message, count, created_at FROM sync_logs "
            "WHERE sync_id = ? ORDER BY seq",
            (sync["id"],),
        )
        items = [
            {
                "syncUri": f"/syncs/{sync['id']}",
                "count": c,
                "severity": sev,
                "statusCode": code,
                "message": msg,
                "createdAt": at,
            }
            for sev, code, msg, c, at in rows
        ]
        return self._list(req, items)

    def get_sync_rejects(self, req: Request) -> Reply:
        sync = self._sync(req)
        if sync is None:
            return message(404, NOT_FOUND)
        limit, offset, total = self._paging(req)
        (n,) = self.store.query("SELECT COUNT(*) FROM rejects WHERE sync_id = ?", (sync["id"],))[0]
        rows = self.store.query(
            "SELECT body FROM rejects WHERE sync_id = ? ORDER BY seq LIMIT ? OFFSET ?",
            (sync["id"], limit, offset),
        )
        body: dict[str, Any] = {}
        if rows:
            body["items"] = [{**json.loads(b), "syncUri": f"/syncs/{sync['id']}"} for (b,) in rows]
        if total:
            body["totalResults"] = n
        body.update(limit=limit, offset=offset, count=len(rows), hasMore=offset + len(rows) < n)
        return json_reply(200, body)

    def get_sync_data(self, req: Request) -> Reply:
        sync = self._sync(req)
        if sync is None:
            return message(404, NOT_FOUND)
        return self._data(req, sync)

    def _data(self, req: Request, sync: dict[str, Any]) -> Reply:
        if sync["kind"] != "exports":
            return failures(
                [failure("syncUri", "Data can only be retrieved for export syncs.", f"/syncs/{sync['id']}")]
            )
        if sync["user"] != req.user:
            return message(
                403,
                "Only the user who created the sync can retrieve its data; create a new sync "
                "of the definition with your own credentials.",
            )
        limit, offset, total = self._paging(req, max_limit=50_000)
        if sync["data_state"] in ("deleted", "expired"):
            return message(404, NOT_FOUND)
        count = 0
        chunk = b""
        as_csv = "text/csv" in req.header("Accept").lower()
        names = list(json.loads(sync["definition"])["fields"]) if as_csv else []
        if sync["status"] in ("success", "warning") and sync["data_state"] == "ready":
            expired = sync["expires_at"] and datetime.fromisoformat(sync["expires_at"]) < self.store.now()
            if expired or self.faults.expire_now(
                sync["instance_uri"], f"/syncs/{sync['id']}", self.engine.pages_served[sync["id"]]
            ):
                self._drop_data(sync["id"], "expired")
                return message(404, NOT_FOUND)
            if as_csv:
                staged = self.store.staged_csv(sync["id"], int(sync["rows"]), names)
            else:
                staged = self.store.staged(sync["id"], int(sync["rows"]))
            if staged is None:
                return message(404, NOT_FOUND)
            chunk, count = staged.page(offset, limit)
            total_rows = staged.count
            self.engine.pages_served[sync["id"]] += 1
        else:
            total_rows = 0
        if as_csv:
            # header row (the definition's field names), then the page's pre-encoded lines
            return Reply(200, csv_line(names) + chunk, content_type="text/csv; charset=utf-8")
        has_more = b"true" if offset + count < total_rows else b"false"
        head = b"{" + (b'"totalResults":%d,' % total_rows if total else b"")
        head += b'"limit":%d,"offset":%d,"count":%d,"hasMore":%s' % (limit, offset, count, has_more)
        body = head + (b',"items":[' + chunk + b"]}" if count else b"}")
        return Reply(200, body)

    def _drop_data(self, sync_id: int, state: str) -> None:
        self.store.delete_staged(sync_id)
        with self.store.tx() as conn:
            conn.execute("UPDATE syncs SET data_state = ? WHERE id = ?", (state, sync_id))

    def delete_sync_data(self, req: Request) -> Reply:
        sync = self._sync(req)
        if sync is None:
            return message(404, NOT_FOUND)
        if sync["status"] in ACTIVE:
            return message(409, "There was a conflict.")
        if sync["kind"] == "exports":
            self._drop_data(sync["id"], "deleted")
        return Reply(204)

    def _latest_sync(self, req: Request) -> dict[str, Any] | None:
        entity_name = _canonical_entity(req.group("entity"))
        d = self._definition(entity_name, "exports", int(req.group("id")))
        if d is None:
            return None
        rows = self.store.query(
            "SELECT id FROM syncs WHERE def_id = ? AND user = ? ORDER BY id DESC LIMIT 1", (d["id"], req.user)
        )
        return self.engine.get(rows[0][0]) if rows else None

    def get_definition_data(self, req: Request) -> Reply:
        sync = self._latest_sync(req)
        return self._data(req, sync) if sync else message(404, NOT_FOUND)

    def delete_definition_data(self, req: Request) -> Reply:
        sync = self._latest_sync(req)
        if sync is None:
            return message(404, NOT_FOUND)
        if sync["status"] in ACTIVE:
            return message(409, "There was a conflict.")
        self._drop_data(sync["id"], "deleted")
        return Reply(204)

    # --- admin (sandbox-only, no auth) ----------------------------------------------------------------------

    def get_state(self, req: Request) -> Reply:
        rows = self.store.query("SELECT id FROM syncs ORDER BY id")
        syncs, imports = [], []
        for (sync_id,) in rows:
            s = self.engine.get(sync_id)
            assert s is not None
            outcome = json.loads(s["outcome"]) if s["outcome"] else None
            syncs.append(
                {
                    **self._sync_json(s),
                    "user": s["user"],
                    "kind": s["kind"],
                    "entity": s["entity"],
                    "definition": json.loads(s["definition"]),
                    "outcome": outcome,
                    "rows": s["rows"],
                    "dataState": s["data_state"],
                }
            )
            if s["kind"] == "imports" and outcome and "processed" in outcome:
                imports.append(
                    {
                        "sync": f"/syncs/{sync_id}",
                        "definition": s["instance_uri"],
                        "status": s["status"],
                        "rows_applied": outcome["created"] + outcome["updated"],
                        **outcome,
                    }
                )
        with self._stats_lock:
            requests = {k: dict(v) for k, v in sorted(self.requests.items())}
        engine = self.engine
        return json_reply(
            200,
            {
                "as_of": self.store.as_of.isoformat(),
                "seed": self.store.seed,
                "timezone": self.store.clock.name,
                "contacts": self.store.n_contacts,
                "now": api_ts(self.store.now()),
                "requests": requests,
                "active_syncs": engine.active,
                "max_active_syncs": engine.max_active,
                "active_syncs_by_user": {u: n for u, n in engine.active_by_user.items() if n},
                "max_active_syncs_by_user": dict(engine.max_active_by_user),
                "syncs": syncs,
                "imports": imports,
                "staged_imports": staged_imports(self.store),
                "faults": self.faults.describe(),
            },
        )

    def get_faults(self, req: Request) -> Reply:
        return json_reply(200, self.faults.describe())

    def put_faults(self, req: Request) -> Reply:
        try:
            self.faults.load(self._json_body(req))
        except FaultSpecError as exc:
            return failures([failure("faults", str(exc))])
        return json_reply(200, self.faults.describe())

    def delete_faults(self, req: Request) -> Reply:
        self.faults.clear()
        return Reply(204)

    def post_clock(self, req: Request) -> Reply:
        body = self._json_body(req)
        delta = parse_duration(body.get("advance")) if isinstance(body, dict) else None
        if delta is None:
            return failures([failure("advance", 'Give {"advance": "<ISO-8601 duration>"}, e.g. PT13H.')])
        return json_reply(200, {"now": api_ts(self.store.advance_clock(delta))})

    def get_dump(self, req: Request) -> Reply:
        what = req.group("what").lower()
        entity = entity_for(what)
        assert entity is not None
        if entity is ACTIVITY_ENTITY:
            raw = req.query.get("type", "")
            activity_type = canonical_activity_type(raw) or next(
                (t for t in EXTERNAL_ACTIVITY_TYPES if t.casefold() == raw.strip().casefold()), None
            )
            try:
                day = date.fromisoformat(req.query.get("day", ""))
            except ValueError:
                day = None
            if activity_type is None or day is None:
                return failures([failure("type/day", "Give ?type=<activity type>&day=YYYY-MM-DD.")])
            if day in data_days(self.store.as_of) and activity_type in ACTIVITY_TYPES:
                self.store.ensure_activities(activity_type, day)
            texts = self.store.dump(entity, "WHERE type = ? AND day = ?", (activity_type, day.isoformat()))
        else:
            texts = self.store.dump(entity)
        return Reply(200, b"[" + ",".join(texts).encode() + b"]")

    def get_email_group_dump(self, req: Request) -> Reply:
        """An email group's subscribers now: its rule with the sync actions' changes."""
        group_id = int(req.group("id"))
        if group_id not in EMAIL_GROUPS:
            return message(404, NOT_FOUND)
        group = EMAIL_GROUPS[group_id]
        ids = self.engine.email_group_subscribers(group_id, self.store.n_contacts)
        return json_reply(200, {"statement": group.statement, "name": group.name, "subscribed": ids})


class _BadQuery(Exception):
    def __init__(self, item: Failure) -> None:
        super().__init__(item["constraint"])
        self.failure = item


class _NotFound(Exception):
    pass


def _int_param(req: Request, name: str, default: int) -> int:
    raw = req.query.get(name.lower())
    if raw is None or raw == "":
        return default
    try:
        return int(raw)
    except ValueError:
        raise _BadQuery(failure(name, "Must be an integer.", raw)) from None


def _q_filter(items: list[dict[str, Any]], q: str) -> list[dict[str, Any]]:
    """Eloqua's ``q="name=*x*"`` search on item names (``*`` wildcards, case-insensitive)."""
    m = re.fullmatch(r"\s*'?(\w+)'?\s*=\s*['\"]?(.*?)['\"]?\s*", q.strip('"'))
    if not m:
        return items
    key, pattern = m.group(1), m.group(2)
    regex = re.compile("^" + ".*".join(map(re.escape, pattern.split("*"))) + "$", re.IGNORECASE)
    return [i for i in items if regex.match(str(i.get(key, "")))]

