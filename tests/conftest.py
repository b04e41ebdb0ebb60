"""Shared fixtures. Each server the tests need is started by its own fixture module under tests/fixtures/."""

from __future__ import annotations

pytest_plugins = [
    "tests.fixtures.spark",
    "tests.fixtures.sandbox",
    "tests.fixtures.seaweed",
    "tests.fixtures.luigid",
    "tests.fixtures.spark_cluster",
    "tests.fixtures.postgres",
    "tests.fixtures.chromium",
]
