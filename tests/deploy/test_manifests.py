"""The image and the manifests cannot be built or applied here (no Docker engine, no cluster), so they are
linted and validated against the Kubernetes schemas, and checked for the properties the nightly run relies on."""

from __future__ import annotations

import configparser
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

ROOT = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
MANIFESTS = sorted((ROOT / "openshift").glob("*.yaml"))


def _docs() -> list[dict]:
    return [doc for path in MANIFESTS for doc in yaml.safe_load_all(path.read_text()) if doc]


def test_dockerfile_passes_hadolint() -> None:
    result = subprocess.run([str(BIN / "hadolint"), str(ROOT / "docker" / "Dockerfile")],
                            capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


def test_dockerfile_copies_every_package_the_wheel_installs() -> None:
    dockerfile = (ROOT / "docker" / "Dockerfile").read_text()
    cfg = configparser.ConfigParser()
    cfg.read(ROOT / "setup.cfg")
    packages = [p.strip() for p in cfg["options.packages.find"]["include"].split() if "*" not in p]
    missing = [p for p in packages if f"COPY {p}/ {p}/" not in dockerfile]
    assert missing == []


@pytest.mark.parametrize("path", MANIFESTS, ids=lambda p: p.name)
def test_manifest_is_valid_kubernetes(path: Path) -> None:
    result = subprocess.run([str(BIN / "kubernetes-validate"), "--strict", str(path)],
                            capture_output=True, text=True)
    assert result.returncode == 0, result.stdout + result.stderr


def test_cronjob_takes_credentials_from_the_secret_and_never_overlaps() -> None:
    cronjob = next(d for d in _docs() if d["kind"] == "CronJob")
    spec = cronjob["spec"]
    container = spec["jobTemplate"]["spec"]["template"]["spec"]["containers"][0]
    assert {"secretRef": {"name": "scc-credentials"}} in container["envFrom"]
    assert spec["concurrencyPolicy"] == "Forbid"
    # plain values only for what is not secret
    assert all(not e["name"].endswith(("PASSWORD", "SECRET", "TOKEN")) for e in container.get("env", []))


def test_no_manifest_carries_a_secret_value() -> None:
    for doc in _docs():
        if doc["kind"] == "Secret":
            assert all(v == "" for v in doc.get("stringData", {}).values())
        if doc["kind"] == "ConfigMap":
            assert not any(k.endswith(("PASSWORD", "SECRET_ACCESS_KEY", "TOKEN")) for k in doc["data"])


def test_scheduler_runs_exactly_one_replica() -> None:
    luigid = next(d for d in _docs() if d["kind"] == "Deployment" and d["metadata"]["name"] == "luigid")
    assert luigid["spec"]["replicas"] == 1
    assert luigid["spec"]["strategy"]["type"] == "Recreate"
