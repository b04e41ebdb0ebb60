"""One Great Expectations suite per payload, built from the data contract (``contract.objects.PAYLOADS``) and
the ``[gate]`` thresholds.

The suites are the same every night; what depends on the night comes in as suite parameters
(:func:`suite_parameters`): the row-count ceiling (from the snapshot's size), the window of D, and for
``campaign_responses`` the day's quarantine and response counts. The value sets are written here from the
business rules, not imported from ``spark/``: the gate is an independent check of what the jobs wrote.

Every payload: the identifier is not null and unique; the columns are exactly the contract's, in order; the row
count is at most ``floor(max_update_fraction x snapshot rows)`` (no ceiling for an approved initial load).
"""

from __future__ import annotations

import datetime as dt
import math
from typing import Any, ClassVar

import great_expectations as gx
from great_expectations.core.suite_parameters import SuiteParameterDict
from great_expectations.expectations.expectation import BatchExpectation

from contract.objects import PAYLOADS
from quality.thresholds import GateThresholds

JOB_LEVELS = ("C-Level", "VP", "Director", "Manager", "Individual Contributor", "Unknown")
LEAD_RATINGS = tuple(letter + digit for letter in "ABCD" for digit in "1234")
RESPONSE_STATUSES = ("Responded", "Attended", "Registered", "No Show", "Other")
ISO2_PATTERN = "^[A-Z]{2}$"

# Suite parameter names (values given at run time by suite_parameters()).
MAX_ROWS = "max_rows"
WINDOW_START = "window_start"
WINDOW_END = "window_end"
QUARANTINED_ROWS = "quarantined_rows"
RESPONSES_OF_DAY = "responses_of_day"


class ExpectQuarantinedRowsToBeAtMostFractionOfResponses(BatchExpectation):
    """The rows held back in quarantine are at most ``max_fraction`` of the day's responses.

    Both counts describe datasets beside the batch (the quarantine and the raw export of D), so they come in
    as suite parameters; the batch itself is not read.
    """

    quarantined_rows: int | SuiteParameterDict
    responses_of_day: int | SuiteParameterDict
    max_fraction: float

    metric_dependencies = ()
    success_keys = ("quarantined_rows", "responses_of_day", "max_fraction")
    args_keys = ("quarantined_rows", "responses_of_day", "max_fraction")
    library_metadata: ClassVar[dict[str, Any]] = {"tags": ["scc"], "contributors": []}

    def _validate(
        self, metrics: dict, runtime_configuration: dict | None = None, execution_engine: Any = None
    ) -> dict[str, Any]:
        kwargs = self._get_success_kwargs()
        quarantined, responses = int(kwargs["quarantined_rows"]), int(kwargs["responses_of_day"])
        limit = float(kwargs["max_fraction"]) * responses
        return {
            "success": quarantined <= limit,
            "result": {"observed_value": quarantined, "details": {"responses_of_day": responses, "limit": limit}},
        }


def _param(name: str) -> SuiteParameterDict:
    return {"$PARAMETER": name}


def expectations(pipeline: str, thresholds: GateThresholds) -> list[gx.expectations.Expectation]:
    """The expectations of ``pipeline``'s payload, in the order Data Docs shows them."""
    payload = PAYLOADS[pipeline]
    ex = gx.expectations
    found: list[gx.expectations.Expectation] = [
        ex.ExpectTableColumnsToMatchOrderedList(column_list=list(payload.column_names)),
        ex.ExpectColumnValuesToNotBeNull(column=payload.identifier),
        ex.ExpectColumnValuesToBeUnique(column=payload.identifier),
        ex.ExpectTableRowCountToBeBetween(min_value=0, max_value=_param(MAX_ROWS)),
    ]
    if pipeline == "contact_washing":
        found += [
            ex.ExpectColumnValuesToBeInSet(column="JobLevel", value_set=list(JOB_LEVELS)),
            ex.ExpectColumnValuesToMatchRegex(
                column="Country", regex=ISO2_PATTERN, mostly=thresholds.min_country_iso_fraction
            ),
        ]
    elif pipeline == "hard_bounces":
        found += [
            ex.ExpectColumnValuesToNotBeNull(column="HardBouncedAt"),
            ex.ExpectColumnValuesToBeBetween(
                column="HardBouncedAt", min_value=_param(WINDOW_START), max_value=_param(WINDOW_END),
                strict_max=True,
            ),
            # "is true": in the set {true}, and never null (set expectations skip nulls).
            ex.ExpectColumnValuesToNotBeNull(column="IsBounced"),
            ex.ExpectColumnValuesToBeInSet(column="IsBounced", value_set=[True]),
        ]
    elif pipeline == "lead_scoring":
        found += [
            ex.ExpectColumnValuesToBeInSet(column="LeadRating", value_set=list(LEAD_RATINGS)),
            ex.ExpectColumnValuesToBeBetween(column="ProfileScore", min_value=0, max_value=100),
            ex.ExpectColumnValuesToBeBetween(column="EngagementScore", min_value=0, max_value=100),
        ]
    elif pipeline == "campaign_responses":
        found += [
            ex.ExpectColumnValuesToNotBeNull(column="CampaignName"),
            ex.ExpectColumnValuesToBeInSet(column="StatusNormalized", value_set=list(RESPONSE_STATUSES)),
            ExpectQuarantinedRowsToBeAtMostFractionOfResponses(
                quarantined_rows=_param(QUARANTINED_ROWS),
                responses_of_day=_param(RESPONSES_OF_DAY),
                max_fraction=thresholds.max_quarantine_fraction,
            ),
        ]
    else:
        raise KeyError(f"no payload {pipeline!r}: expected one of {', '.join(PAYLOADS)}")
    return found


def build_suite(pipeline: str, thresholds: GateThresholds) -> gx.ExpectationSuite:
    """The suite named after the pipeline."""
    return gx.ExpectationSuite(name=pipeline, expectations=expectations(pipeline, thresholds))


def max_rows(snapshot_rows: int, thresholds: GateThresholds) -> int:
    """``floor(max_update_fraction x snapshot rows)``: the most contacts one night may rewrite."""
    return math.floor(thresholds.max_update_fraction * snapshot_rows)


def suite_parameters(
    pipeline: str,
    run_date: dt.date,
    *,
    snapshot_rows: int,
    thresholds: GateThresholds,
    row_count_guard: bool = True,
    quarantined_rows: int | None = None,
    responses_of_day: int | None = None,
) -> dict[str, Any]:
    """The night's values of the suite parameters. ``row_count_guard=False`` (an approved initial load) leaves
    the row count without a ceiling; ``campaign_responses`` needs both quarantine counts."""
    start = dt.datetime.combine(run_date, dt.time(), dt.UTC)
    values: dict[str, Any] = {
        MAX_ROWS: max_rows(snapshot_rows, thresholds) if row_count_guard else None,
        WINDOW_START: start,
        WINDOW_END: start + dt.timedelta(days=1),
    }
    if pipeline == "campaign_responses":
        if quarantined_rows is None or responses_of_day is None:
            raise ValueError("campaign_responses needs quarantined_rows and responses_of_day")
        values[QUARANTINED_ROWS] = quarantined_rows
        values[RESPONSES_OF_DAY] = responses_of_day
    return values
