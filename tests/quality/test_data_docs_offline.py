"""Data Docs that open without the network: the vendored assets and the rewriting of GE's pages.

The sample site is rendered by Great Expectations itself (pandas, no Spark), with the project's configuration,
so the pages carry exactly the CDN references of the installed GE's templates.
"""

from __future__ import annotations

import hashlib
import json
import logging
import re
import shutil
import tarfile
from collections.abc import Callable
from html.parser import HTMLParser
from pathlib import Path

import great_expectations as gx
import pandas as pd
import pytest

from quality import vendor
from quality.checkpoint import LOGO, VENDOR_SITE_FOLDER, make_offline, offline_html, project_config, vendored_urls

EXTERNAL = re.compile(r"(?i)^\s*(?:[a-z][a-z0-9+.-]*:)?//")


class _Resources(HTMLParser):
    """What a page loads when it opens (``<link href>``, ``<script src>``, ``<img src>``) and its ``<a href>``."""

    def __init__(self) -> None:
        super().__init__()
        self.loads: list[str] = []
        self.links: list[str] = []
        self.attributes: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = {k: v or "" for k, v in attrs}
        self.attributes += list(values)
        if tag in ("link", "img", "script", "iframe", "source") and (values.get("href") or values.get("src")):
            self.loads.append(values.get("href") or values["src"])
        elif tag == "a" and "href" in values:
            self.links.append(values["href"])


def resources(html: str) -> _Resources:
    parser = _Resources()
    parser.feed(html)
    return parser


@pytest.fixture(scope="module")
def ge_site(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """An index, an expectation suite page and a validation page, as GE renders them."""
    docs = tmp_path_factory.mktemp("ge-site")
    context = gx.get_context(mode="ephemeral", project_config=project_config(docs))
    suite = context.suites.add(gx.ExpectationSuite(
        name="sample", expectations=[gx.expectations.ExpectColumnValuesToBeInSet(column="a", value_set=[1, 2])]))
    batch = context.data_sources.add_pandas("p").add_dataframe_asset("a").add_batch_definition_whole_dataframe("b")
    definition = context.validation_definitions.add(gx.ValidationDefinition(name="v", data=batch, suite=suite))
    checkpoint = context.checkpoints.add(gx.Checkpoint(
        name="c", validation_definitions=[definition],
        actions=[gx.checkpoint.UpdateDataDocsAction(name="docs", site_names=["lake"])]))
    checkpoint.run(batch_parameters={"dataframe": pd.DataFrame({"a": [1, 2, 3]})})
    return docs


def pages(site: Path) -> dict[str, str]:
    return {p.relative_to(site).as_posix(): p.read_text(encoding="utf-8") for p in sorted(site.rglob("*.html"))}


@pytest.fixture
def site(ge_site: Path, tmp_path: Path) -> Path:
    copy = tmp_path / "site"
    shutil.copytree(ge_site, copy)
    return copy


def test_the_sample_site_has_the_three_kinds_of_page_and_loads_from_cdns(ge_site: Path) -> None:
    rendered = pages(ge_site)
    assert {p.split("/")[0] for p in rendered} == {"index.html", "expectations", "validations"}
    for html in rendered.values():
        assert len([u for u in resources(html).loads if EXTERNAL.match(u)]) >= 15


def test_every_resource_ges_templates_load_is_vendored(ge_site: Path) -> None:
    # A GE upgrade that loads something new (or another version) fails here rather than in a browser.
    everything = {f"{spec}/{path}" for spec, path in vendor.CDN.values()}
    for name, html in pages(ge_site).items():
        _, dropped = offline_html(html, "", vendored_urls(everything))
        assert dropped == [], name


def test_the_manifest_pins_every_file_the_templates_name() -> None:
    manifest = vendor.load_manifest()
    assert set(manifest) == set(vendor.entry_files())
    for spec, files in vendor.entry_files().items():
        assert files <= manifest[spec].keys(), spec
    # Font Awesome's stylesheet loads its webfonts: they are pinned with it.
    assert any(n.startswith("webfonts/") for n in manifest[vendor.FONT_AWESOME])


def test_css_references_are_package_relative_paths() -> None:
    css = ("@font-face{src:url(../webfonts/fa-solid-900.woff2) format('woff2'),url('../webfonts/a.ttf?v=1#x')}"
           ".x{background:url(data:image/png;base64,AAAA)}.y{background:url(https://cdn.example/z.png)}"
           ".z{background:url(\"img/b.png\")}.w{background:url(../../outside.png)}")
    assert vendor._css_references(css, "css/all.min.css") == {
        "webfonts/fa-solid-900.woff2", "webfonts/a.ttf", "css/img/b.png"}


def test_missing_files_notices_an_absent_or_altered_file(tmp_path: Path) -> None:
    manifest = tmp_path / "vendor.json"
    (tmp_path / "v" / "a@1" / "dist").mkdir(parents=True)
    (tmp_path / "v" / "a@1" / "dist" / "a.js").write_text("a")
    (tmp_path / "v" / "a@1" / "dist" / "b.js").write_text("tampered")
    digest = hashlib.sha256(b"a").hexdigest()
    manifest.write_text(json.dumps({"packages": {"a@1": {"dist/a.js": digest, "dist/b.js": digest,
                                                         "dist/c.js": digest}}}))
    assert vendor.missing_files(tmp_path / "v", manifest) == ["a@1/dist/b.js", "a@1/dist/c.js"]


def _fake_pack(files: dict[str, bytes]) -> Callable[[str, Path], Path]:
    """Stands for ``npm pack``: a tarball of ``files`` under ``package/``, as the registry serves it."""
    def pack(spec: str, workdir: Path) -> Path:
        tarball = workdir / "pkg.tgz"
        with tarfile.open(tarball, "w:gz") as archive:
            for name, data in files.items():
                (workdir / "f").write_bytes(data)
                archive.add(workdir / "f", arcname=f"package/{name}")
        return tarball
    return pack


def test_vendor_fetches_what_is_missing_and_refuses_a_file_the_manifest_does_not_pin(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    css = b".i{src:url(../webfonts/i.woff2)}"
    monkeypatch.setattr(vendor, "CDN", {"https://cdn.example.org/i@1/css/i.css": ("i@1", "css/i.css")})
    monkeypatch.setattr(vendor, "_npm_pack", _fake_pack(
        {"css/i.css": css, "webfonts/i.woff2": b"font", "README.md": b"not wanted"}))
    manifest, folder = tmp_path / "vendor.json", tmp_path / "vendor"
    assert vendor.vendor(folder, manifest, lock=True) == ["i@1"]
    assert sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file()) == [
        "i@1/css/i.css", "i@1/webfonts/i.woff2"]
    assert vendor.load_manifest(manifest)["i@1"]["webfonts/i.woff2"] == hashlib.sha256(b"font").hexdigest()
    assert vendor.vendor(folder, manifest) == []  # present and matching: nothing fetched
    (folder / "i@1" / "webfonts" / "i.woff2").unlink()
    assert vendor.vendor(folder, manifest) == ["i@1"]
    monkeypatch.setattr(vendor, "_npm_pack", _fake_pack({"css/i.css": css, "webfonts/i.woff2": b"other"}))
    (folder / "i@1" / "webfonts" / "i.woff2").unlink()
    with pytest.raises(vendor.VendorError, match="sha256 differs"):
        vendor.vendor(folder, manifest)


SAMPLE = """<html><head>
<link rel="stylesheet" href="https://maxcdn.bootstrapcdn.com/bootstrap/4.3.1/css/bootstrap.min.css"/>
<link rel="stylesheet" href="https://fonts.example.org/a.css">
<link rel="shortcut icon" href="../static/images/favicon.ico" type="image/x-icon"/>
<style>.navbar-brand a { background: url('https://great-expectations-web-assets.s3.us-east-2.amazonaws.com/full_logo_dark.png') 0 0 no-repeat; }
.b { background: url(//tracker.example.org/p.gif) }</style>
<script src="https://stackpath.bootstrapcdn.com/bootstrap/4.3.1/js/bootstrap.min.js" integrity="sha384-JjSm" crossorigin="anonymous"></script>
<script src="https://cdn.example.org/unknown.js"></script>
<script>var inline = "https://cdn.example.org/not-loaded.js";</script>
</head><body>
<img class="NO-CACHE" src="https://great-expectations-web-assets.s3.us-east-2.amazonaws.com/logo-long.png?d=20261128T020000Z" alt="Great Expectations"/>
<div style="background-image: url('https://cdn.example.org/bg.png')">x</div>
<a href="https://greatexpectations.io">Great Expectations</a>
</body></html>"""  # noqa: E501


def test_offline_html_rewrites_known_references_and_drops_the_rest() -> None:
    local = vendored_urls({f"{vendor.BOOTSTRAP}/dist/css/bootstrap.min.css",
                           f"{vendor.BOOTSTRAP}/dist/js/bootstrap.min.js"})
    html, dropped = offline_html(SAMPLE, "../", local)
    found = resources(html)
    assert found.loads == [
        "../static/vendor/bootstrap-4.3.1/dist/css/bootstrap.min.css", "../static/images/favicon.ico",
        "../static/vendor/bootstrap-4.3.1/dist/js/bootstrap.min.js", f"../{LOGO}"]
    assert found.links == ["https://greatexpectations.io"]
    assert "integrity" not in found.attributes and "crossorigin" not in found.attributes
    assert f"background: url('../{LOGO}') 0 0 no-repeat" in html
    assert ".b { background: none }" in html and 'style="background-image: none"' in html
    assert 'var inline = "https://cdn.example.org/not-loaded.js";' in html  # an inline script is left alone
    assert "unknown.js" not in html and "fonts.example.org" not in html
    assert sorted(dropped) == ["//tracker.example.org/p.gif", "https://cdn.example.org/bg.png",
                               "https://cdn.example.org/unknown.js", "https://fonts.example.org/a.css"]


def _vendored() -> None:
    if vendor.missing_files():
        pytest.fail(f"the vendored Data Docs assets are missing: run `make vendor` ({vendor.missing_files()[0]})")


def test_make_offline_points_every_page_at_copies_in_the_site(
        site: Path, caplog: pytest.LogCaptureFixture) -> None:
    _vendored()
    placeholder = site / "validations" / "sample" / "2026-11-26" / "20261127T020000Z" / "p-a.html"
    placeholder.parent.mkdir(parents=True)
    placeholder.touch()
    with caplog.at_level(logging.WARNING):
        make_offline(site, skip=[placeholder.relative_to(site).as_posix()])
    assert caplog.records == []
    assert placeholder.read_bytes() == b""
    for name, html in pages(site).items():
        if not html:
            continue
        found = resources(html)
        assert [u for u in found.loads if EXTERNAL.match(u)] == [], name
        assert "integrity" not in found.attributes and "crossorigin" not in found.attributes
        assert not re.search(r"(?i)url\(\s*['\"]?(https?:)?//", html), name
        vendored = [u for u in found.loads if f"{VENDOR_SITE_FOLDER}/" in u]
        assert len(vendored) >= 15, name
        for url in found.loads:
            if name.startswith("validations/") and url.endswith("favicon.ico"):
                continue  # GE links a validation page's favicon one folder short: local, so not fetched
            assert ((site / name).parent / url).resolve().is_file(), (name, url)
        # external links stay: a page opening does not follow them
        assert any(EXTERNAL.match(u) for u in found.links), name
    # Font Awesome's stylesheet finds its webfonts beside it.
    css = next(site.glob(f"{VENDOR_SITE_FOLDER}/*fontawesome*/css/all.min.css"))
    for ref in vendor._css_references(css.read_text(encoding="utf-8"), "css/all.min.css"):
        assert (css.parent.parent / ref).is_file(), ref
    # No '@' in the uploaded paths (the Hadoop upload would escape it).
    assert not [p for p in (site / VENDOR_SITE_FOLDER).rglob("*") if "@" in p.name]


def test_without_vendored_files_pages_are_plain_but_offline_and_one_warning_says_so(
        site: Path, tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING):
        make_offline(site, vendor_dir=tmp_path / "no-vendor")
    assert len(caplog.records) == 1 and "make vendor" in caplog.records[0].getMessage()
    assert not (site / VENDOR_SITE_FOLDER).exists()
    for name, html in pages(site).items():
        found = resources(html)
        assert [u for u in found.loads if EXTERNAL.match(u)] == [], name
        assert any(u.endswith(LOGO) for u in found.loads), name
        assert "sample" in html
