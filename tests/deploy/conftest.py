"""The production install, as the image builds it, and the production configuration, as the pods mount it.

``production_install``: the image's build context (this checkout filtered by ``.dockerignore``) copied to a
temporary ``opt/scc``, and a clean virtualenv (no system site-packages) in which ``pip install -e`` installs it
without extras, exactly as ``docker/Dockerfile`` does. Everything is group-0 writable, as the image makes it.

``production_conf``: the ConfigMaps of the rendered ``prod`` overlay: ``scc-conf``'s files written to a folder
that stands in for ``/etc/scc``, and ``scc-env``'s variables, for a test to override what points at the cluster.
"""

from __future__ import annotations

import fnmatch
import os
import shutil
import stat
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.deploy.kustomize import render

ROOT = Path(__file__).resolve().parents[2]
OVERLAYS = ROOT / "openshift" / "overlays"


@dataclass(frozen=True)
class ProductionInstall:
    """``home``: the copy of the build context (the image's /opt/scc); ``venv``: its virtualenv."""

    home: Path
    venv: Path
    world_executable: bool

    @property
    def bin(self) -> Path:
        return self.venv / "bin"

    @property
    def entrypoint(self) -> Path:
        return self.home / "docker" / "entrypoint.sh"


@dataclass(frozen=True)
class ProductionConf:
    """``conf_dir``: scc-conf's files (the pods' /etc/scc); ``env``: scc-env's variables."""

    conf_dir: Path
    env: dict[str, str]


def dockerignore_patterns() -> list[str]:
    lines = (ROOT / ".dockerignore").read_text().splitlines()
    return [line.strip() for line in lines if line.strip() and not line.startswith("#")]


def ignored(relative: str, patterns: list[str]) -> bool:
    """Docker's rule for the patterns we use: a path is out when it or one of its parents matches."""
    parts = relative.split("/")
    prefixes = ["/".join(parts[: i + 1]) for i in range(len(parts))]
    for pattern in patterns:
        for prefix in prefixes:
            if fnmatch.fnmatchcase(prefix, pattern):
                return True
            if pattern.startswith("**/") and fnmatch.fnmatchcase(prefix.split("/")[-1], pattern[3:]):
                return True
    return False


def copy_build_context(target: Path) -> None:
    patterns = dockerignore_patterns()
    for folder, dirs, files in os.walk(ROOT):
        relative_folder = os.path.relpath(folder, ROOT)
        relative_folder = "" if relative_folder == "." else relative_folder
        dirs[:] = [d for d in dirs if not ignored(os.path.join(relative_folder, d), patterns)]
        for name in files:
            relative = os.path.join(relative_folder, name)
            if not ignored(relative, patterns):
                (target / relative).parent.mkdir(parents=True, exist_ok=True)
                shutil.copy2(ROOT / relative, target / relative)


def _world_executable(path: Path) -> bool:
    """True when any user can run ``path``: every parent folder searchable by others, the file executable."""
    path = path.resolve()
    if not path.stat().st_mode & stat.S_IXOTH:
        return False
    return all(parent.stat().st_mode & stat.S_IXOTH for parent in path.parents)


def base_interpreter() -> tuple[str, bool]:
    """A Python of this version for the virtualenv; one any UID can run when there is one (the random-UID test
    needs it: a Python under /root, as pyenv installs it, is out of reach of every other user)."""
    own = Path(getattr(sys, "_base_executable", sys.executable))
    if _world_executable(own):
        return str(own), True
    version = f"python{sys.version_info.major}.{sys.version_info.minor}"
    for folder in ("/usr/local/bin", "/usr/bin"):
        candidate = Path(folder) / version
        if candidate.exists() and _world_executable(candidate):
            probe = subprocess.run([str(candidate), "-c", "import ensurepip, venv"], capture_output=True)
            if probe.returncode == 0:
                return str(candidate), True
    return str(own), False


def make_group_writable(root: Path) -> None:
    """``chgrp -R 0 && chmod -R g=u``, as the Dockerfile does, and the parents searchable."""
    for folder, dirs, files in os.walk(root):
        for name in [folder, *(os.path.join(folder, n) for n in dirs + files)]:
            if os.path.islink(name):
                continue
            if os.geteuid() == 0:
                os.chown(name, -1, 0)
            mode = os.stat(name).st_mode
            user_bits = (mode & stat.S_IRWXU) >> 3
            os.chmod(name, (mode & ~stat.S_IRWXG) | user_bits)


@pytest.fixture(scope="session")
def production_install() -> Iterator[ProductionInstall]:
    base = Path(tempfile.mkdtemp(prefix="scc-image-"))
    try:
        home, venv = base / "opt" / "scc", base / "venv"
        home.mkdir(parents=True)
        copy_build_context(home)
        python, world = base_interpreter()
        subprocess.run([python, "-m", "venv", str(venv)], check=True)
        # No extras, as in the image: whatever production needs must be in install_requires.
        result = subprocess.run([str(venv / "bin" / "pip"), "install", "-q", "--disable-pip-version-check",
                                 "-e", str(home)], capture_output=True, text=True)
        assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
        make_group_writable(base)
        os.chmod(base, 0o755)  # mkdtemp makes it private; the image's folders are not
        yield ProductionInstall(home, venv, world)
    finally:
        shutil.rmtree(base, ignore_errors=True)


@pytest.fixture(scope="session")
def production_conf() -> Iterator[ProductionConf]:
    objects = render(OVERLAYS / "prod")
    config_maps = {o["metadata"]["name"]: o["data"] for o in objects if o["kind"] == "ConfigMap"}
    conf_dir = Path(tempfile.mkdtemp(prefix="scc-etc-"))
    for name, text in config_maps["scc-conf"].items():
        (conf_dir / name).write_text(text)
    os.chmod(conf_dir, 0o755)  # the pods read it whatever their UID
    yield ProductionConf(conf_dir, dict(config_maps["scc-env"]))
    shutil.rmtree(conf_dir, ignore_errors=True)


def production_env(install: ProductionInstall, conf: ProductionConf, **overrides: str) -> dict[str, str]:
    """The environment of a pod: scc-env with the test's overrides, the venv first on PATH, nothing else of
    this process (no credentials, no virtualenv of the test runner)."""
    env = {
        **conf.env,
        "LUIGI_CONFIG_PATH": str(conf.conf_dir / "luigi.cfg"),
        "SCC_CONF_DIR": str(conf.conf_dir),
        "PATH": f"{install.bin}:/usr/local/bin:/usr/bin:/bin",
        "LANG": "C.UTF-8",
        "AWS_REQUEST_CHECKSUM_CALCULATION": "when_required",
        "AWS_RESPONSE_CHECKSUM_VALIDATION": "when_required",
    }
    env.update(overrides)
    return env
