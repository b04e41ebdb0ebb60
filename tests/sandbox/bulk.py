"""Small Bulk API helpers for the sandbox tests (plain ``requests``, no project client)."""

from __future__ import annotations

import time
from datetime import UTC, datetime
from typing import Any
from zoneinfo import ZoneInfo

import requests

from tests.fixtures.sandbox import SandboxHandle

TERMINAL = ("success", "warning", "error")


def post(sb: SandboxHandle, path: str, body: Any, auth: tuple[str, str] | None = None) -> requests.Response:
    return requests.post(f"{sb.bulk_url}{path}", json=body, auth=auth or sb.auth, timeout=30)


def get(
    sb: SandboxHandle, path: str, auth: tuple[str, str] | None = None, **params: Any
) -> requests.Response:
    return requests.get(f"{sb.bulk_url}{path}", params=params, auth=auth or sb.auth, timeout=60)


def create_export(
    sb: SandboxHandle, entity: str, fields: dict[str, str], filter: str | None = None, **extra: Any
) -> str:
    body: dict[str, Any] = {"name": f"test {entity}", "fields": fields, **extra}
    if filter is not None:
        body["filter"] = filter
    response = post(sb, f"/{entity}/exports", body)
    assert response.status_code == 201, response.text
    return str(response.json()["uri"])


def sync(sb: SandboxHandle, instance_uri: str, auth: tuple[str, str] | None = None) -> str:
    response = post(sb, "/syncs", {"syncedInstanceUri": instance_uri}, auth=auth)
    assert response.status_code == 201, response.text
    assert response.json()["status"] == "pending"
    return str(response.json()["uri"])


def wait(sb: SandboxHandle, sync_uri: str, timeout: float = 60) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while True:
        body = get(sb, sync_uri).json()
        if body["status"] in TERMINAL:
            return body
        assert time.monotonic() < deadline, f"{sync_uri} still {body['status']}"
        time.sleep(0.02)


def rows(
    sb: SandboxHandle, sync_uri: str, limit: int = 1000, auth: tuple[str, str] | None = None
) -> list[dict[str, str]]:
    out: list[dict[str, str]] = []
    offset = 0
    while True:
        page = get(sb, f"{sync_uri}/data", auth=auth, limit=limit, offset=offset)
        assert page.status_code == 200, page.text
        body = page.json()
        out.extend(body.get("items", []))
        offset += body["count"]
        if not body["hasMore"]:
            return out


def export_rows(
    sb: SandboxHandle, entity: str, fields: dict[str, str], filter: str | None = None, **extra: Any
) -> list[dict[str, str]]:
    uri = create_export(sb, entity, fields, filter, **extra)
    sync_uri = sync(sb, uri)
    assert wait(sb, sync_uri)["status"] == "success"
    return rows(sb, sync_uri)


def create_import(
    sb: SandboxHandle, entity: str, fields: dict[str, str], identifier: str, **extra: Any
) -> str:
    body = {
        "name": f"test import {entity}",
        "fields": fields,
        "identifierFieldName": identifier,
        "isSyncTriggeredOnImport": False,
        **extra,
    }
    response = post(sb, f"/{entity}/imports", body)
    assert response.status_code == 201, response.text
    return str(response.json()["uri"])


def run_import(
    sb: SandboxHandle,
    entity: str,
    fields: dict[str, str],
    identifier: str,
    data: list[dict[str, Any]],
    **extra: Any,
) -> tuple[str, dict[str, Any]]:
    uri = create_import(sb, entity, fields, identifier, **extra)
    response = post(sb, f"{uri}/data", data)
    assert response.status_code == 204, response.text
    sync_uri = sync(sb, uri)
    return sync_uri, wait(sb, sync_uri)


def in_instance_time(sb: SandboxHandle, stored: str) -> str:
    """A date as the dump holds it (UTC) printed as an export prints it in the sandbox's time zone."""
    if not stored:
        return stored
    utc = datetime.fromisoformat(stored).replace(tzinfo=UTC)
    return utc.astimezone(ZoneInfo(sb.timezone)).replace(tzinfo=None).isoformat(" ", "milliseconds")


def as_exported(
    sb: SandboxHandle, row: dict[str, str], instance_time: set[str] | frozenset[str]
) -> dict[str, str]:
    """A dumped row (UTC dates) with the columns ``instance_time`` in the sandbox's time zone."""
    return {k: in_instance_time(sb, v) if k in instance_time else v for k, v in row.items()}
