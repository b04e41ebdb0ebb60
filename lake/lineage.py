"""What a dataset was built from: the identity of each dataset and the record of a dataset's inputs.

A stage that reads datasets records, in ``<dataset>/_inputs.json``, the identity each of its inputs had when it
was built. It is up to date only while those identities are still the inputs' current ones: a re-export of the
raw contacts (``scc nightly --full-refresh``) gives them a new identity, so the snapshot built from them, and
then every payload built from the snapshot, is rebuilt on the next run, while a plain rerun finds every
identity unchanged and does nothing.

Identity of a complete dataset: the export that wrote it (``sync_uri`` and ``exported_at`` of its
``_export.json``), else the build that wrote it (``built_at`` of its ``_inputs.json``); None while incomplete.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from typing import Any

from lake.storage import Lake

INPUTS = "_inputs.json"
EXPORT_MANIFEST = "_export.json"


def identity(lake: Lake, dataset_url: str) -> str | None:
    """The current identity of the dataset at ``dataset_url`` (see the module doc); None when incomplete."""
    if not lake.is_complete(dataset_url):
        return None
    manifest = lake.read_json(f"{dataset_url}/{EXPORT_MANIFEST}", default=None)
    if manifest is not None:
        return f"export {manifest.get('sync_uri')} at {manifest.get('exported_at')}"
    record = lake.read_json(f"{dataset_url}/{INPUTS}", default=None)
    if record is not None:
        return f"build at {record.get('built_at')}"
    return "published"  # written by hand or before inputs were recorded: stable until replaced


def current_inputs(lake: Lake, input_urls: Iterable[str]) -> dict[str, str | None]:
    """``{input URL: its identity now}``."""
    return {url: identity(lake, url) for url in input_urls}


def recorded_inputs(lake: Lake, dataset_url: str) -> dict[str, Any] | None:
    """The inputs recorded when ``dataset_url`` was built; None when it has no record."""
    record = lake.read_json(f"{dataset_url}/{INPUTS}", default=None)
    return None if record is None else dict(record.get("inputs") or {})


def record_inputs(lake: Lake, dataset_url: str, inputs: dict[str, str | None]) -> None:
    """Record that ``dataset_url`` was built from ``inputs`` (identities as :func:`current_inputs` gives)."""
    built_at = dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    lake.write_json(f"{dataset_url}/{INPUTS}", {"built_at": built_at, "inputs": inputs})


def is_up_to_date(lake: Lake, dataset_url: str, input_urls: Iterable[str]) -> bool:
    """True when the dataset is complete and was built from its inputs as they are now."""
    if not lake.is_complete(dataset_url):
        return False
    return recorded_inputs(lake, dataset_url) == current_inputs(lake, input_urls)
