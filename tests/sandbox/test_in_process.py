"""The in-process API: ``start_sandbox(**options) -> RunningSandbox`` with ``.url`` and ``.stop()``."""

from __future__ import annotations

from pathlib import Path

import pytest
import requests
from scc_sandbox import start_sandbox
from scc_sandbox.store import StoreError

pytestmark = pytest.mark.integration

AUTH = ("SCCSandbox\\scc.api", "scc-sandbox")


def test_start_serve_and_stop_in_process(tmp_path: Path) -> None:
    running = start_sandbox(contacts=10, seed=2, as_of="2026-11-27", data_dir=tmp_path / "d", sync_delay=0)
    try:
        body = requests.get(f"{running.url}/id", auth=AUTH, timeout=10).json()
        assert body["urls"]["base"] == running.url
        fields = requests.get(f"{running.url}/api/bulk/2.0/contacts/fields", auth=AUTH, timeout=10)
        assert fields.status_code == 200
    finally:
        running.stop()
    with pytest.raises(requests.ConnectionError):
        requests.get(f"{running.url}/id", auth=AUTH, timeout=5)
    running.stop()  # idempotent


def test_reusing_a_data_dir_with_other_options_raises(tmp_path: Path) -> None:
    start_sandbox(contacts=5, seed=2, data_dir=tmp_path / "d", sync_delay=0).stop()
    with pytest.raises(StoreError, match="--seed 2"):
        start_sandbox(contacts=5, seed=3, data_dir=tmp_path / "d", sync_delay=0)
