"""Run one payload's checkpoint on Spark and render the Data Docs: the Great Expectations half of the gate.

:func:`run_checkpoint` takes the payload as a Spark DataFrame (a dataframe asset of GE's Spark datasource), the
night's suite parameters and the validation results of earlier runs (``history``, as read back from the lake),
and returns a :class:`CheckpointOutcome`: success, the failed expectations, the checkpoint result as JSON, this
run's validation results to keep (``records``), and the Data Docs rendered into ``docs_dir``.

The context is ephemeral (``quality/gx/great_expectations.yml``: in-memory stores), so nothing is written
anywhere but ``docs_dir``. Reading and writing the lake is the job's part (``jobs/gate.py``).

GE's page templates load their styles and scripts from CDNs and the navbar logo from S3. Once the site is built,
:func:`make_offline` points every such ``<link>``, ``<script>`` and ``<img>`` at copies in the site itself
(``static/vendor/``, from ``quality/gx/vendor/``, see ``quality/vendor.py``; the logo is GE's own
``static/images/logo-long.png``), so a page opens with no request leaving the machine. Without the vendored files
the references are dropped all the same: a plain page, still offline, and one warning.
"""

from __future__ import annotations

import datetime as dt
import json
import logging
import re
import shutil
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import great_expectations as gx
from great_expectations.core.expectation_validation_result import ExpectationSuiteValidationResultSchema
from great_expectations.core.run_identifier import RunIdentifier
from great_expectations.data_context.types.base import DataContextConfig
from great_expectations.data_context.types.resource_identifiers import (
    ExpectationSuiteIdentifier,
    ValidationResultIdentifier,
)
from pyspark.sql import DataFrame
from ruamel.yaml import YAML

from contract.objects import PAYLOADS
from quality.suites import build_suite
from quality.thresholds import GateThresholds
from quality.vendor import CDN, MANIFEST, VENDOR_DIR, load_manifest, missing_files

PROJECT_CONFIG = Path(__file__).resolve().parent / "gx" / "great_expectations.yml"
DATASOURCE = "import_ready"
SITE = "lake"
VALIDATIONS_FOLDER = "validations"
VENDOR_SITE_FOLDER = "static/vendor"
LOGO = "static/images/logo-long.png"
GE_ASSETS_HOST = "great-expectations-web-assets."

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class CheckpointOutcome:
    success: bool
    failed_expectations: list[str]
    checkpoint_result: dict[str, Any]
    records: list[dict[str, Any]]
    """This run's validation results as ``{"key": [...], "result": {...}}``: pass them back as ``history``."""
    page: str
    """This run's Data Docs page, relative to the site's root (``validations/<suite>/<D>/<time>/<batch>.html``)."""
    placeholders: set[str] = field(default_factory=set)
    """Files of ``docs_dir`` that stand for pages rendered by earlier runs: not to be uploaded."""


def project_config(docs_dir: Path) -> DataContextConfig:
    """The checked-in project configuration, with the Data Docs site rendered into ``docs_dir``."""
    data = YAML(typ="rt").load(PROJECT_CONFIG.read_text(encoding="utf-8"))
    data["data_docs_sites"][SITE]["store_backend"]["base_directory"] = str(docs_dir)
    return DataContextConfig.from_commented_map(data)


def _history_page(key: ValidationResultIdentifier) -> str:
    # The site's filesystem store keeps a validation page at <folder>/<suite>/<run name>/<run time>/<batch>.html.
    return "/".join([VALIDATIONS_FOLDER, *key.to_tuple()]) + ".html"


def _name(result: Any) -> str:
    config = result.expectation_config
    column = config.kwargs.get("column")
    return f"{config.type}({column})" if column else str(config.type)


def _json_safe(value: Any) -> Any:
    return json.loads(json.dumps(value, default=str))


def run_checkpoint(
    pipeline: str,
    payload: DataFrame,
    run_date: dt.date,
    parameters: dict[str, Any],
    thresholds: GateThresholds,
    docs_dir: Path,
    history: Iterable[dict[str, Any]] = (),
) -> CheckpointOutcome:
    """Validate ``payload`` against ``pipeline``'s suite as one checkpoint run named after ``run_date``."""
    context = gx.get_context(mode="ephemeral", project_config=project_config(docs_dir))
    schema = ExpectationSuiteValidationResultSchema()
    placeholders = set()
    for record in history:
        key = ValidationResultIdentifier.from_tuple(tuple(record["key"]))
        context.validation_results_store.set(key, schema.load(record["result"]))
        # The index lists the pages found in the site folder; earlier pages are already in the lake, so an
        # empty stand-in lists them without rendering every past run again.
        page = _history_page(key)
        target = docs_dir / page
        if not target.exists():
            target.parent.mkdir(parents=True, exist_ok=True)
            target.touch()
            placeholders.add(page)

    for name in PAYLOADS:
        context.suites.add(build_suite(name, thresholds))
    context.build_data_docs(
        site_names=[SITE], resource_identifiers=[ExpectationSuiteIdentifier(name=n) for n in PAYLOADS]
    )
    batch = context.data_sources.add_spark(DATASOURCE).add_dataframe_asset(pipeline)
    definition = context.validation_definitions.add(
        gx.ValidationDefinition(
            name=pipeline,
            data=batch.add_batch_definition_whole_dataframe("payload"),
            suite=context.suites.get(pipeline),
        )
    )
    checkpoint = context.checkpoints.add(
        gx.Checkpoint(
            name=pipeline,
            validation_definitions=[definition],
            actions=[gx.checkpoint.UpdateDataDocsAction(name="update_data_docs", site_names=[SITE])],
            result_format="SUMMARY",
        )
    )
    result = checkpoint.run(
        batch_parameters={"dataframe": payload},
        expectation_parameters=parameters,
        run_id=RunIdentifier(run_name=run_date.isoformat(), run_time=dt.datetime.now(dt.UTC)),
    )
    make_offline(docs_dir, skip=placeholders)
    records, failed, pages = [], [], []
    for key, validation in result.run_results.items():
        records.append({"key": list(key.to_tuple()), "result": _json_safe(validation.to_json_dict())})
        failed += [_name(r) for r in validation.results if not r.success]
        pages.append(_history_page(key))
    return CheckpointOutcome(
        success=bool(result.success),
        failed_expectations=failed,
        checkpoint_result=_json_safe(result.describe_dict()),
        records=records,
        page=pages[0],
        placeholders=placeholders,
    )


# ---------------------------------------------------------------------------------------------- offline pages

_EXTERNAL = re.compile(r"(?i)^\s*(?:[a-z][a-z0-9+.-]*:)?//")
# An element that loads something: a void tag, or a script with an empty body (an inline script is left alone).
_LOADING_TAG = re.compile(r"(?is)<(?:link|img|iframe|source|embed)\b[^>]*>|<script\b[^>]*>\s*</script\s*>")
_URL_ATTRIBUTE = re.compile(r"""(?is)(\s(?:src|href)\s*=\s*)("[^"]*"|'[^']*'|[^\s"'>]+)""")
_DROPPED_ATTRIBUTE = re.compile(r"""(?is)\s(?:integrity|crossorigin)(?:\s*=\s*(?:"[^"]*"|'[^']*'|[^\s"'>]+))?""")
_STYLE = re.compile(r"""(?is)(<style\b[^>]*>)(.*?)(</style\s*>)|(\sstyle\s*=\s*)("[^"]*"|'[^']*')""")
_CSS_URL = re.compile(r"""(?i)url\(\s*(['"]?)([^'")]*)\1\s*\)""")


def site_folder(spec: str) -> str:
    """A vendored package's folder in the site: ``@scope/name@version`` as ``scope-name-version`` (no ``@``, which
    the Hadoop paths of the upload would escape)."""
    return spec.lstrip("@").replace("/", "-").replace("@", "-")


def vendored_urls(available: set[str]) -> dict[str, str]:
    """CDN URL -> the site-relative path of its copy, for the vendored files in ``available``
    (``package@version/path``)."""
    return {url: f"{VENDOR_SITE_FOLDER}/{site_folder(spec)}/{path}"
            for url, (spec, path) in CDN.items() if f"{spec}/{path}" in available}


def offline_html(html: str, root: str, local: dict[str, str]) -> tuple[str, list[str]]:
    """``html`` with every external resource pointed at its copy in the site, or dropped when there is none.

    ``root`` leads from the page to the site's root (``""``, ``"../"``, ...); ``local`` maps external URLs to
    site-relative paths (:func:`vendored_urls`). GE's logo becomes the site's own. ``<a href>`` links are left
    as they are: a page opening does not follow them. Returns the page and the external URLs it dropped.
    """
    dropped: list[str] = []

    def target(url: str) -> str | None:
        url = url.strip()
        if url in local:
            return root + local[url]
        if GE_ASSETS_HOST in url.split("?")[0]:
            return root + LOGO
        dropped.append(url)
        return None

    def tag(match: re.Match[str]) -> str:
        element = match.group(0)
        attribute = _URL_ATTRIBUTE.search(element)
        if attribute is None:
            return element
        url = attribute.group(2).strip("\"'")
        if not _EXTERNAL.match(url):
            return element
        path = target(url)
        if path is None:
            return ""
        element = element[:attribute.start(2)] + f'"{path}"' + element[attribute.end(2):]
        return _DROPPED_ATTRIBUTE.sub("", element)

    def css_url(match: re.Match[str]) -> str:
        url = match.group(2)
        if not _EXTERNAL.match(url):
            return match.group(0)
        path = target(url)
        return f"url('{path}')" if path else "none"

    def style(match: re.Match[str]) -> str:
        if match.group(1) is not None:
            return match.group(1) + _CSS_URL.sub(css_url, match.group(2)) + match.group(3)
        return match.group(4) + _CSS_URL.sub(css_url, match.group(5))

    return _STYLE.sub(style, _LOADING_TAG.sub(tag, html)), dropped


def make_offline(docs_dir: Path, skip: Iterable[str] = (), vendor_dir: Path = VENDOR_DIR,
                 manifest: Path = MANIFEST) -> None:
    """Copy the vendored files into the site and rewrite its pages (but ``skip``, site-relative) to use them."""
    missing = set(missing_files(vendor_dir, manifest))
    available = set()
    for spec, files in load_manifest(manifest).items():
        for name in files:
            if f"{spec}/{name}" not in missing:
                target = docs_dir / VENDOR_SITE_FOLDER / site_folder(spec) / name
                target.parent.mkdir(parents=True, exist_ok=True)
                shutil.copyfile(vendor_dir / spec / name, target)
                available.add(f"{spec}/{name}")
    local = vendored_urls(available)
    skipped = set(skip)
    dropped: set[str] = set()
    for page in sorted(docs_dir.rglob("*.html")):
        relative = page.relative_to(docs_dir)
        if relative.as_posix() in skipped:
            continue
        html, lost = offline_html(page.read_text(encoding="utf-8"), "../" * (len(relative.parts) - 1), local)
        page.write_text(html, encoding="utf-8")
        dropped.update(lost)
    if missing or dropped:
        log.warning("Data Docs: %d vendored browser files missing (make vendor), %d external references dropped: "
                    "the pages open offline, unstyled where they were", len(missing), len(dropped))
