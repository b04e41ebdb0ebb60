"""A finished export sync, started the way the extract starts one (``eloqua.export.start_export``)."""

from __future__ import annotations

from typing import Any

from contract.objects import EloquaObject
from eloqua.client import EloquaClient
from eloqua.export import start_export


def finished_sync(client: EloquaClient, obj: EloquaObject, *, timeout: float = 600.0, **definition: Any) -> str:
    """Create the export definition of ``obj`` and its sync, wait for ``success`` and return the sync uri."""
    started = start_export(client, obj, **definition)
    client.wait_for_sync(started.sync_uri, timeout=timeout, accept_warning=False)
    return started.sync_uri
