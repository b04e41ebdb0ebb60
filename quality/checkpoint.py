"""Run one payload's checkpoint on Spark and render the Data Docs: the Great Expectations half of the gate.

:func:`run_checkpoint` takes the payload as a Spark DataFrame (a dataframe asset of GE's Spark datasource), the
night's suite parameters and the validation results of earlier runs (``history``, as read back from the lake),
and returns a :class:`CheckpointOutcome`: success, the failed expectations, the checkpoint result as JSON, this
run's validation results to keep (``records``), and the Data Docs rendered into ``docs_dir``.

The context is ephemeral (``quality/gx/great_expectations.yml``: in-memory stores), so nothing is written
anywhere but ``docs_dir``. Reading and writing the lake is the job's part (``jobs/gate.py``).
"""

from __future__ import annotations

import datetime as dt
import json
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

PROJECT_CONFIG = Path(__file__).resolve().parent / "gx" / "great_expectations.yml"
DATASOURCE = "import_ready"
SITE = "lake"
VALIDATIONS_FOLDER = "validations"


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
