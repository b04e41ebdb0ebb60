"""``jobs/gate.py`` on a real lake in ``tmp_path``: pass and fail, the result JSON, the pass flag, the Data Docs
history, and the first load's approval (``main()`` in-process on the session SparkSession)."""

from __future__ import annotations

import datetime as dt
import json
import re
from pathlib import Path
from typing import Any

import pytest

from contract.objects import CAMPAIGN_RESPONSES, CONTACTS, PAYLOADS
from jobs import gate
from lake.paths import LakeLayout, local_path
from tests.jobs.rawlake import utc, write_dataset

pytestmark = pytest.mark.spark

D = dt.date(2026, 11, 27)
D2 = D + dt.timedelta(days=1)
SNAPSHOT = [{"ContactId": str(n), "EmailAddress": f"c{n}@x.com", "UpdatedAt": utc("2026-11-01 00:00:00")}
            for n in range(10)]  # 10 contacts: at most 5 rows per payload


def _path(url: str) -> Path:
    return Path(local_path(url))


def _scores(n: int, **first: Any) -> list[dict[str, Any]]:
    rows = [{"EmailAddress": f"c{i}@x.com", "LeadRating": "B2", "ProfileScore": 60, "EngagementScore": 30}
            for i in range(n)]
    return [{**rows[0], **first}, *rows[1:]]


def _receipt(lake: LakeLayout, pipeline: str, day: dt.date) -> str:
    url = lake.loaded_receipt(pipeline, day)
    _path(url).parent.mkdir(parents=True, exist_ok=True)
    _path(url).write_text("{}")
    return url


def _result(lake: LakeLayout, pipeline: str, day: dt.date) -> dict[str, Any]:
    return json.loads((_path(lake.quality(pipeline, day)) / gate.RESULT_FILE).read_text())


def _passed(lake: LakeLayout, pipeline: str, day: dt.date) -> bool:
    return (_path(lake.quality(pipeline, day)) / gate.PASSED_FLAG).is_file()


def _gate(lake: LakeLayout, pipeline: str, day: dt.date, *extra: str) -> int:
    return gate.main(["--pipeline", pipeline, "--date", day.isoformat(), "--lake", lake.url, *extra])


def _summary(result: dict[str, Any]) -> dict[str, Any]:
    keys = ("success", "failed_expectations", "initial_load", "initial_load_approved", "max_rows", "snapshot_rows")
    return {k: result[k] for k in keys}


def _last_line(capsys) -> str:
    return capsys.readouterr().err.strip().splitlines()[-1]


@pytest.fixture(scope="module")
def lake(tmp_path_factory) -> LakeLayout:
    layout = LakeLayout(f"file://{tmp_path_factory.mktemp('lake')}")
    for day in (D, D2):
        write_dataset(layout.staged_contacts(day), CONTACTS, SNAPSHOT)
    return layout


def test_a_payload_that_meets_its_suite_passes_and_writes_result_flag_and_data_docs(lake) -> None:
    receipt = _receipt(lake, "lead_scoring", D - dt.timedelta(days=1))
    write_dataset(lake.import_ready("lead_scoring", D), PAYLOADS["lead_scoring"], _scores(5))

    assert _gate(lake, "lead_scoring", D) == 0

    result = _result(lake, "lead_scoring", D)
    assert _summary(result) == {"success": True, "failed_expectations": [], "initial_load": False,
                                "initial_load_approved": False, "max_rows": 5, "snapshot_rows": 10}
    assert (result["earlier_receipt"], result["message"]) == (receipt, None)
    assert result["checkpoint_result"]["success"] is True
    assert _passed(lake, "lead_scoring", D)
    page = result["data_docs_page"]
    assert page.startswith(lake.data_docs() + "/validations/lead_scoring/2026-11-27/")
    assert _path(page).is_file() and _path(result["data_docs_index"]).is_file()


def test_a_failing_payload_fails_with_one_line_and_the_history_shows_both_runs(lake, capsys) -> None:
    _receipt(lake, "lead_scoring", D)
    # six rows over a ceiling of five, one rating out of the sixteen
    write_dataset(lake.import_ready("lead_scoring", D2), PAYLOADS["lead_scoring"], _scores(6, LeadRating="E1"))
    flag = _path(lake.quality("lead_scoring", D2)) / gate.PASSED_FLAG
    flag.parent.mkdir(parents=True, exist_ok=True)
    flag.touch()  # a pass left by an earlier run of D2 must not survive this one

    assert _gate(lake, "lead_scoring", D2) == gate.EXIT_GATE_FAILED

    result = _result(lake, "lead_scoring", D2)
    failed = ["expect_table_row_count_to_be_between", "expect_column_values_to_be_in_set(LeadRating)"]
    assert _summary(result) == {"success": False, "failed_expectations": failed, "initial_load": False,
                                "initial_load_approved": False, "max_rows": 5, "snapshot_rows": 10}
    assert not _passed(lake, "lead_scoring", D2)
    page = result["data_docs_page"]
    assert _last_line(capsys) == f"gate lead_scoring {D2}: failed {', '.join(failed)}; Data Docs: {page}"
    assert result["message"] == f"gate lead_scoring {D2}: failed {', '.join(failed)}; Data Docs: {page}"

    index = (_path(lake.data_docs()) / "index.html").read_text()
    listed = sorted(set(re.findall(r"validations/lead_scoring/[^\"\\]+?\.html", index)))
    first = _result(lake, "lead_scoring", D)["data_docs_page"]
    assert listed == sorted(p[len(lake.data_docs()) + 1:] for p in (first, page))
    assert _path(first).stat().st_size > 0 and _path(page).stat().st_size > 0


def test_a_first_load_fails_unless_approved_and_then_has_no_row_ceiling(lake, capsys) -> None:
    bounces = [{"EmailAddress": f"c{n}@x.com", "HardBouncedAt": utc("2026-11-27 08:00:00"), "IsBounced": True}
               for n in range(6)]
    write_dataset(lake.import_ready("hard_bounces", D), PAYLOADS["hard_bounces"], bounces)

    assert _gate(lake, "hard_bounces", D) == gate.EXIT_GATE_FAILED
    result = _result(lake, "hard_bounces", D)
    assert _summary(result) == {"success": False, "failed_expectations": ["expect_table_row_count_to_be_between"],
                                "initial_load": True, "initial_load_approved": False, "max_rows": 5,
                                "snapshot_rows": 10}
    receipts = lake.url + "/loaded/hard_bounces"
    assert _last_line(capsys) == (
        f"gate hard_bounces {D}: initial load (no receipt under {receipts} before {D}): rerun with "
        f"--approve-initial-load to load it; failed expect_table_row_count_to_be_between; "
        f"Data Docs: {result['data_docs_page']}"
    )
    assert not _passed(lake, "hard_bounces", D)

    assert _gate(lake, "hard_bounces", D, "--approve-initial-load") == 0
    assert _summary(_result(lake, "hard_bounces", D)) == {
        "success": True, "failed_expectations": [], "initial_load": True, "initial_load_approved": True,
        "max_rows": None, "snapshot_rows": 10}
    assert _passed(lake, "hard_bounces", D)


def test_the_quarantine_share_is_counted_from_the_footers_of_quarantine_and_raw_export(lake, capsys) -> None:
    _receipt(lake, "campaign_responses", D - dt.timedelta(days=3))  # any earlier day's receipt counts
    responses = [{"ResponseId": f"R{n}", "RespondedAt": utc("2026-11-27 08:00:00")} for n in range(20)]
    write_dataset(lake.raw_custom_object("campaign_responses", D), CAMPAIGN_RESPONSES, responses)
    write_dataset(lake.quarantine("campaign_responses", D), CAMPAIGN_RESPONSES, responses[:2])  # 2 > 0.05 x 20
    write_dataset(lake.import_ready("campaign_responses", D), PAYLOADS["campaign_responses"],
                  [{"ResponseId": "R5", "CampaignName": "Summit", "StatusNormalized": "Responded"}])

    assert _gate(lake, "campaign_responses", D) == gate.EXIT_GATE_FAILED

    result = _result(lake, "campaign_responses", D)
    assert (result["quarantined_rows"], result["responses_of_day"], result["initial_load"]) == (2, 20, False)
    assert result["failed_expectations"] == ["expect_quarantined_rows_to_be_at_most_fraction_of_responses"]


def test_a_missing_payload_exits_2_naming_it(lake, capsys) -> None:
    assert _gate(lake, "contact_washing", D) == 2
    assert "import_ready/contact_washing/run_date=2026-11-27" in _last_line(capsys)
