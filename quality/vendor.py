"""The browser assets of the Data Docs, vendored from the npm registry so that the pages open without the network.

Great Expectations' page templates load Bootstrap, bootstrap-table, bootstrap-datepicker, bootstrap-dark, jQuery,
Popper, Vega and Font Awesome from CDNs. ``python quality/vendor.py`` fetches the same packages with
``npm pack <package>@<version>`` (the npm registry is the only JavaScript source the project uses), keeps only the
files the templates name plus whatever their CSS loads (Font Awesome's webfonts) and writes them under
``quality/gx/vendor/<package>@<version>/`` (not tracked). ``quality/gx/vendor.json`` (tracked) pins every file's
sha256: files already there are checked on every run and fetched again when missing or changed, and a fetched
file whose digest differs from the manifest fails the run. ``--lock`` records the digests after a version bump.

:data:`CDN` maps each URL of GE's templates to its vendored file; ``quality.checkpoint`` rewrites the rendered
pages with it. The module is plain standard library: the Makefile and the image's build stage run it as a script.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import posixpath
import re
import shutil
import subprocess
import sys
import tarfile
import tempfile
from collections.abc import Sequence
from pathlib import Path
from typing import TextIO

HERE = Path(__file__).resolve().parent
VENDOR_DIR = HERE / "gx" / "vendor"
MANIFEST = HERE / "gx" / "vendor.json"

BOOTSTRAP = "bootstrap@4.3.1"
BOOTSTRAP_TABLE = "bootstrap-table@1.19.1"
DATEPICKER = "bootstrap-datepicker@1.9.0"
BOOTSTRAP_DARK = "@forevolve/bootstrap-dark@1.1.0"
JQUERY = "jquery@3.7.1"
POPPER = "popper.js@1.12.9"
# The templates ask the CDN for the newest vega@5, vega-lite@5 and vega-embed@6: pinned here to those versions.
VEGA = "vega@5.33.1"
VEGA_LITE = "vega-lite@5.23.0"
VEGA_EMBED = "vega-embed@6.29.0"
FONT_AWESOME = "@fortawesome/fontawesome-free@6.6.0"

_FILTER_CONTROL = "dist/extensions/filter-control/bootstrap-table-filter-control"
CDN: dict[str, tuple[str, str]] = {
    "https://maxcdn.bootstrapcdn.com/bootstrap/4.3.1/css/bootstrap.min.css": (BOOTSTRAP, "dist/css/bootstrap.min.css"),
    "https://stackpath.bootstrapcdn.com/bootstrap/4.3.1/js/bootstrap.min.js": (BOOTSTRAP, "dist/js/bootstrap.min.js"),
    "https://unpkg.com/bootstrap-table@1.19.1/dist/bootstrap-table.min.css": (
        BOOTSTRAP_TABLE, "dist/bootstrap-table.min.css"),
    "https://unpkg.com/bootstrap-table@1.19.1/dist/bootstrap-table.min.js": (
        BOOTSTRAP_TABLE, "dist/bootstrap-table.min.js"),
    "https://unpkg.com/bootstrap-table@1.19.1/" + _FILTER_CONTROL + ".min.js": (
        BOOTSTRAP_TABLE, _FILTER_CONTROL + ".min.js"),
    # The templates take the filter-control stylesheet from 1.19.0; 1.19.1 ships the same file.
    "https://unpkg.com/bootstrap-table@1.19.0/" + _FILTER_CONTROL + ".css": (BOOTSTRAP_TABLE, _FILTER_CONTROL + ".css"),
    "https://unpkg.com/bootstrap-table@1.19.0/" + _FILTER_CONTROL + ".min.css": (
        BOOTSTRAP_TABLE, _FILTER_CONTROL + ".min.css"),
    "https://cdnjs.cloudflare.com/ajax/libs/bootstrap-datepicker/1.9.0/css/bootstrap-datepicker.min.css": (
        DATEPICKER, "dist/css/bootstrap-datepicker.min.css"),
    "https://cdnjs.cloudflare.com/ajax/libs/bootstrap-datepicker/1.9.0/js/bootstrap-datepicker.min.js": (
        DATEPICKER, "dist/js/bootstrap-datepicker.min.js"),
    "https://cdn.jsdelivr.net/npm/@forevolve/bootstrap-dark@1.1.0/dist/css/bootstrap-prefers-dark.css": (
        BOOTSTRAP_DARK, "dist/css/bootstrap-prefers-dark.css"),
    "https://code.jquery.com/jquery-3.7.1.min.js": (JQUERY, "dist/jquery.min.js"),
    "https://cdnjs.cloudflare.com/ajax/libs/popper.js/1.12.9/umd/popper.min.js": (POPPER, "dist/umd/popper.min.js"),
    "https://cdn.jsdelivr.net/npm/vega@5": (VEGA, "build/vega.min.js"),
    "https://cdn.jsdelivr.net/npm/vega-lite@5": (VEGA_LITE, "build/vega-lite.min.js"),
    "https://cdn.jsdelivr.net/npm/vega-embed@6": (VEGA_EMBED, "build/vega-embed.min.js"),
    "https://cdnjs.cloudflare.com/ajax/libs/font-awesome/6.6.0/css/all.min.css": (FONT_AWESOME, "css/all.min.css"),
}

_CSS_URL = re.compile(r"""url\(\s*(['"]?)([^'")]+)\1\s*\)""")


class VendorError(Exception):
    """A package could not be fetched, or a file differs from the manifest."""


def entry_files() -> dict[str, set[str]]:
    """The files the templates name, by ``package@version``."""
    wanted: dict[str, set[str]] = {}
    for spec, path in CDN.values():
        wanted.setdefault(spec, set()).add(path)
    return wanted


def load_manifest(path: Path = MANIFEST) -> dict[str, dict[str, str]]:
    """``{package@version: {file: sha256}}``; empty when there is no manifest yet."""
    if not path.is_file():
        return {}
    return {spec: dict(files) for spec, files in json.loads(path.read_text(encoding="utf-8"))["packages"].items()}


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def missing_files(vendor_dir: Path = VENDOR_DIR, manifest: Path = MANIFEST) -> list[str]:
    """The manifest's files (``package@version/path``) absent from ``vendor_dir`` or not matching their sha256."""
    return [f"{spec}/{name}" for spec, files in load_manifest(manifest).items() for name, digest in files.items()
            if not (vendor_dir / spec / name).is_file() or sha256(vendor_dir / spec / name) != digest]


def _css_references(css: str, css_path: str) -> set[str]:
    """Package-relative paths of the files a stylesheet loads (fonts, images), queries and fragments dropped."""
    found = set()
    for _, ref in _CSS_URL.findall(css):
        ref = ref.strip().split("?")[0].split("#")[0]
        if not ref or re.match(r"(?i)^([a-z][a-z0-9+.-]*:|/)", ref):
            continue
        path = posixpath.normpath(posixpath.join(posixpath.dirname(css_path), ref))
        if not path.startswith("../"):
            found.add(path)
    return found


def _npm_pack(spec: str, workdir: Path) -> Path:
    try:
        result = subprocess.run(["npm", "pack", spec, "--json", "--pack-destination", str(workdir)], cwd=workdir,
                                capture_output=True, text=True, check=False, timeout=300)
    except FileNotFoundError:
        raise VendorError("npm is not installed: it fetches the Data Docs assets from the npm registry") from None
    if result.returncode != 0:
        raise VendorError(f"npm pack {spec} failed: {(result.stderr.strip().splitlines() or ['?'])[-1]}")
    return workdir / json.loads(result.stdout)[0]["filename"]


def _extract(tarball: Path, names: set[str], spec: str) -> dict[str, bytes]:
    """``names`` and the files their stylesheets load, from an npm tarball (whose members sit under ``package/``)."""
    out: dict[str, bytes] = {}
    with tarfile.open(tarball, "r:gz") as archive:
        members = {m.name.split("/", 1)[1]: m for m in archive.getmembers() if m.isfile() and "/" in m.name}
        pending = sorted(names)
        while pending:
            name = pending.pop()
            if name in out:
                continue
            if name not in members:
                raise VendorError(f"{spec} has no file {name}")
            handle = archive.extractfile(members[name])
            assert handle is not None
            out[name] = handle.read()
            if name.endswith(".css"):
                text = out[name].decode("utf-8", errors="replace")
                pending += [r for r in _css_references(text, name) if r in members and r not in out]
    return out


def vendor(vendor_dir: Path = VENDOR_DIR, manifest: Path = MANIFEST, lock: bool = False,
           log: TextIO = sys.stderr) -> list[str]:
    """Fetch every package whose files are missing or changed; returns the ``package@version`` fetched."""
    pinned = load_manifest(manifest)
    wanted = entry_files()
    locked: dict[str, dict[str, str]] = {}
    fetched = []
    with tempfile.TemporaryDirectory(prefix="scc-vendor-") as tmp:
        for spec in sorted(wanted):
            files = pinned.get(spec, {})
            if not lock and not wanted[spec] <= files.keys():
                raise VendorError(f"{MANIFEST.name} does not pin {spec}: run python quality/vendor.py --lock")
            target = vendor_dir / spec
            if not lock and all((target / n).is_file() and sha256(target / n) == d for n, d in files.items()):
                locked[spec] = files
                continue
            print(f"vendor: npm pack {spec}", file=log)
            contents = _extract(_npm_pack(spec, Path(tmp)), wanted[spec] | set(files), spec)
            digests = {name: hashlib.sha256(data).hexdigest() for name, data in sorted(contents.items())}
            if not lock:
                changed = sorted(n for n in files if digests.get(n) != files[n])
                if changed:
                    raise VendorError(f"{spec}: sha256 differs from {MANIFEST.name} for {', '.join(changed)}")
            if target.exists():
                shutil.rmtree(target)
            for name, data in contents.items():
                (target / name).parent.mkdir(parents=True, exist_ok=True)
                (target / name).write_bytes(data)
            locked[spec] = digests
            fetched.append(spec)
    # A package dropped from CDN (a version bump) leaves no stale folder behind.
    for folder in [*vendor_dir.glob("*@*"), *vendor_dir.glob("@*/*@*")]:
        name = folder.relative_to(vendor_dir).as_posix()
        if folder.is_dir() and not (name.startswith("@") and "/" not in name) and name not in locked:
            shutil.rmtree(folder)
    if lock:
        manifest.write_text(json.dumps({"packages": locked}, indent=2, sort_keys=True) + "\n", encoding="utf-8")
    return fetched


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python quality/vendor.py", description=__doc__.split("\n\n")[0])
    parser.add_argument("--lock", action="store_true", help="fetch every package and record its sha256s")
    args = parser.parse_args(argv)
    try:
        fetched = vendor(lock=args.lock)
    except VendorError as err:
        print(f"vendor: {err}", file=sys.stderr)
        return 1
    print(f"vendor: {len(entry_files())} packages in {VENDOR_DIR}" + (f" ({len(fetched)} fetched)" if fetched else ""))
    return 0


if __name__ == "__main__":
    sys.exit(main())
