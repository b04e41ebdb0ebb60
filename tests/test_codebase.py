"""The codebase's own checks, run with the tests so that CI enforces them: ruff, the import layers
(import-linter contracts in setup.cfg) and mypy on the packages."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
PACKAGES = ["contract", "lake", "eloqua", "spark", "jobs", "quality", "luigi_tasks", "sandbox/scc_sandbox"]


def _run(*command: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=300)


def test_ruff_finds_nothing() -> None:
    result = _run(str(BIN / "ruff"), "check", ".")
    assert result.returncode == 0, result.stdout


def test_import_layers_hold() -> None:
    result = _run(str(BIN / "lint-imports"))
    assert result.returncode == 0, result.stdout


@pytest.mark.slow
def test_mypy_finds_nothing() -> None:
    result = _run(str(BIN / "mypy"), *PACKAGES)
    assert result.returncode == 0, result.stdout


def test_no_tracked_file_points_outside_the_repository() -> None:
    """The repository stands on its own: its reference is docs/, never a document beside the checkout."""
    outside = r"\.\./shared|pipelines-spec\.md|eloqua-bulk-api\.md"
    result = _run("git", "grep", "-n", "-E", outside, "--", ".", ":!tests/test_codebase.py")
    assert result.returncode == 1 and not result.stdout, result.stdout
