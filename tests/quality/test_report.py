"""The night's HTML report, read back as a person sees it: rendered by headless Chromium, offline.

The lake is written by hand, file by file as the stages write it: two nights; on the second, lead_scoring's
gate fails (so it is not loaded), hard_bounces is loaded with two rows rejected, and campaign_responses never
reached its gate.
"""

from __future__ import annotations

import datetime as dt
import json
import re
import subprocess
import sys
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import luigi
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from PIL import Image

from lake.paths import LakeLayout, local_path
from luigi_tasks import timings
from quality import report
from spark.campaign_responses import REASON_NULL_CAMPAIGN_ID, REASON_UNKNOWN_CAMPAIGN_ID

D1, D2 = dt.date(2026, 11, 26), dt.date(2026, 11, 27)
UNKNOWN_EMAIL = "Email address is not valid"


# ---------------------------------------------------------------------------------------------- the lake


def _parquet(layout: LakeLayout, url: str, rows: int, columns: dict[str, list[Any]] | None = None,
             manifest: dict[str, Any] | None = None, publish: bool = True) -> None:
    """A dataset as the stages publish it: two part files, then ``_export.json`` and ``_SUCCESS``."""
    folder = Path(local_path(url))
    folder.mkdir(parents=True, exist_ok=True)
    data = columns or {"EmailAddress": [f"c{i}@example.com" for i in range(rows)]}
    table = pa.table(data)
    assert table.num_rows == rows
    half = rows // 2
    pq.write_table(table.slice(0, half), folder / "part-00000.parquet")
    pq.write_table(table.slice(half), folder / "part-00001.parquet")
    if manifest is not None:
        (folder / "_export.json").write_text(json.dumps({"rows": rows, **manifest}))
    if publish:
        (folder / "_SUCCESS").write_text("")


def _json(url: str, doc: dict[str, Any]) -> None:
    path = Path(local_path(url))
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(doc))


def _task(layout: LakeLayout, day: dt.date, family: str, params: dict[str, str], status: str,
          start: str, seconds: float | None) -> None:
    task_id = f"{family}_{day:%Y_%m_%d}_{abs(hash(tuple(params.items()))) % 10**6:06d}"
    begin = dt.datetime.fromisoformat(f"{day.isoformat()}T{start}+00:00") + dt.timedelta(days=1)
    end = begin + dt.timedelta(seconds=seconds) if seconds is not None else None
    _json(layout.run_task(day, task_id), {
        "task_id": task_id, "family": family, "params": {"date": day.isoformat(), **params},
        "run_date": day.isoformat(), "status": status,
        "start": begin.isoformat().replace("+00:00", "Z"),
        "end": end.isoformat().replace("+00:00", "Z") if end else None, "seconds": seconds})


def _raw(layout: LakeLayout, day: dt.date, contacts: int, activities: dict[str, int], responses: int) -> None:
    _parquet(layout, layout.raw_contacts(day), contacts, manifest={"mode": "increment"})
    for kind, rows in activities.items():
        _parquet(layout, layout.raw_activities(kind, day), rows, manifest={"mode": "window"})
    _parquet(layout, layout.raw_custom_object("campaign_responses", day), responses, manifest={"mode": "window"})
    _parquet(layout, layout.raw_custom_object("sfdc_campaigns", day), 4, manifest={"mode": "full"})


def _gate(layout: LakeLayout, pipeline: str, day: dt.date, failed: list[str]) -> None:
    """``quality/<p>/run_date=D/result.json`` as jobs/gate.py writes it (without the checkpoint result)."""
    page = f"{layout.data_docs()}/validations/{pipeline}/{day.isoformat()}/20261128T020000Z/payload.html"
    _json(f"{layout.quality(pipeline, day)}/result.json", {
        "pipeline": pipeline, "run_date": day.isoformat(), "success": not failed,
        "checkpoint_success": not failed, "failed_expectations": failed, "initial_load": False,
        "initial_load_approved": False, "payload": layout.import_ready(pipeline, day),
        "data_docs_page": page, "data_docs_index": f"{layout.data_docs()}/index.html",
        "message": f"gate {pipeline} {day}: failed {', '.join(failed)}; Data Docs: {page}" if failed else None})


def _receipt(layout: LakeLayout, pipeline: str, day: dt.date, staged: int, rejected: int) -> None:
    """``loaded/<p>/run_date=D/receipt.json`` as eloqua.imports writes it (the fields the report reads)."""
    _json(layout.loaded_receipt(pipeline, day), {
        "format": 1, "pipeline": pipeline, "run_date": day.isoformat(), "payload_rows": staged,
        "definition_uri": "/contacts/imports/9", "sync_uri": f"/syncs/{staged}",
        "status": "warning" if rejected else "success", "rows_staged": staged, "rows_rejected": rejected,
        "rejects": layout.rejects(pipeline, day) if rejected else None})


ACTIVITIES_D2 = {"Bounceback": 3, "EmailOpen": 12, "EmailClickthrough": 5, "FormSubmit": 2, "WebVisit": 7}


@pytest.fixture(scope="module")
def lake(tmp_path_factory: pytest.TempPathFactory) -> LakeLayout:
    layout = LakeLayout("file://" + str(tmp_path_factory.mktemp("lake")))

    # Night 1: every pipeline ran, passed its gate and loaded everything.
    _raw(layout, D1, 480, {"Bounceback": 1, "EmailOpen": 9, "EmailClickthrough": 4, "FormSubmit": 1,
                           "WebVisit": 3}, 5)
    _parquet(layout, layout.staged_contacts(D1), 480)
    for pipeline, rows in {"contact_washing": 30, "hard_bounces": 1, "lead_scoring": 48,
                           "campaign_responses": 5}.items():
        _parquet(layout, layout.import_ready(pipeline, D1), rows)
        _gate(layout, pipeline, D1, [])
        _receipt(layout, pipeline, D1, rows, 0)
    _task(layout, D1, "ContactsSnapshot", {}, "done", "02:00:00", 40.0)
    _task(layout, D1, "ContactWashing", {}, "done", "02:00:41", 20.0)

    # Night 2: lead_scoring fails its gate; hard_bounces has rejects; campaign_responses stops at its payload.
    _raw(layout, D2, 40, ACTIVITIES_D2, 6)
    _parquet(layout, layout.staged_contacts(D2), 500)
    payloads = {"contact_washing": 25, "hard_bounces": 3, "lead_scoring": 60, "campaign_responses": 4}
    for pipeline, rows in payloads.items():
        _parquet(layout, layout.import_ready(pipeline, D2), rows)
    reasons = [REASON_UNKNOWN_CAMPAIGN_ID, REASON_NULL_CAMPAIGN_ID, REASON_UNKNOWN_CAMPAIGN_ID]
    _parquet(layout, layout.quarantine("campaign_responses", D2), 3,
             {"ResponseId": ["r1", "r2", "r3"], "reason": reasons})
    _gate(layout, "contact_washing", D2, [])
    _gate(layout, "hard_bounces", D2, [])
    _gate(layout, "lead_scoring", D2, ["expect_column_values_to_be_in_set(LeadRating)"])
    _receipt(layout, "contact_washing", D2, 25, 0)
    _receipt(layout, "hard_bounces", D2, 3, 2)
    _parquet(layout, layout.rejects("hard_bounces", D2), 2, {
        "EmailAddress": ["x@", "y@"], "HardBouncedAt": ["2026-11-27 08:00:00"] * 2, "IsBounced": ["true"] * 2,
        "message": [UNKNOWN_EMAIL, UNKNOWN_EMAIL], "statusCode": ["ELQ-00107"] * 2, "recordIndex": [1, 3],
        "invalidFields": [["EmailAddress"], ["EmailAddress"]]})
    docs = Path(local_path(
        f"{layout.data_docs()}/validations/lead_scoring/{D2.isoformat()}/20261128T020000Z/payload.html"))
    docs.parent.mkdir(parents=True)
    docs.write_text("<html><body><h1>lead_scoring validation</h1></body></html>")
    _task(layout, D2, "ContactsSnapshot", {}, "done", "02:00:00", 42.5)
    for n, pipeline in enumerate(payloads):
        _task(layout, D2, report._camel(pipeline), {}, "done", f"02:01:0{n}", 30.0 + n)
    _task(layout, D2, "LoadPayload", {"pipeline": "hard_bounces"}, "failed", "02:03:00", 5.0)
    return layout


# ---------------------------------------------------------------------------------------------- the DOM


class _Cells(HTMLParser):
    """The summary table's cells by pipeline and stage, and every src/href in the document."""

    def __init__(self) -> None:
        super().__init__()
        self.cells: dict[tuple[str, str], dict[str, str]] = {}
        self.links: list[str] = []
        self._row: str | None = None
        self._cell: tuple[str, str] | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        self.links += [v for k, v in attrs if k in ("src", "href", "xlink:href") and v]
        if tag == "tr" and a.get("data-pipeline"):
            self._row = a["data-pipeline"]
        if tag == "td" and self._row and a.get("data-stage"):
            self._cell = (self._row, a["data-stage"] or "")
            self.cells[self._cell] = {"state": a.get("data-state") or "", "text": ""}

    def handle_endtag(self, tag: str) -> None:
        if tag == "td":
            self._cell = None
        if tag in ("tr", "table"):
            self._row = None

    def handle_data(self, data: str) -> None:
        if self._cell:
            self.cells[self._cell]["text"] += data


def _cells(dom: str) -> _Cells:
    parser = _Cells()
    parser.feed(dom)
    return parser


def _text(dom: str) -> str:
    return " ".join(re.sub(r"<[^>]+>", " ", dom).split())


# ---------------------------------------------------------------------------------------------- tests


@pytest.fixture(scope="module")
def written(lake: LakeLayout) -> str:
    return report.write_report(lake.url, D2)


def test_report_is_written_to_its_lake_path(lake: LakeLayout, written: str) -> None:
    assert written == lake.report(D2)
    assert Path(local_path(written)).read_text().startswith("<!DOCTYPE html>")


@pytest.fixture(scope="module")
def visit(chromium: Any, written: str) -> Any:
    return chromium.visit(written, "report")


@pytest.mark.integration
@pytest.mark.slow
def test_summary_shows_every_pipeline_with_its_counts(visit: Any) -> None:
    cells = _cells(visit.dom).cells
    summary = {(p, s): c["text"].strip() for (p, s), c in cells.items()
               if s in ("extracted", "snapshot", "payload", "quarantined", "loaded", "rejected")}
    assert summary == {
        # contacts only
        ("contact_washing", "extracted"): "40", ("contact_washing", "snapshot"): "500",
        ("contact_washing", "payload"): "25", ("contact_washing", "quarantined"): "0",
        ("contact_washing", "loaded"): "25", ("contact_washing", "rejected"): "0",
        # contacts + Bounceback
        ("hard_bounces", "extracted"): "43", ("hard_bounces", "snapshot"): "500",
        ("hard_bounces", "payload"): "3", ("hard_bounces", "quarantined"): "0",
        ("hard_bounces", "loaded"): "1", ("hard_bounces", "rejected"): "2",
        # contacts + the four scored activity types (26)
        ("lead_scoring", "extracted"): "66", ("lead_scoring", "snapshot"): "500",
        ("lead_scoring", "payload"): "60", ("lead_scoring", "quarantined"): "0",
        ("lead_scoring", "loaded"): "skipped: gate failed", ("lead_scoring", "rejected"): "—",
        # contacts + 6 responses + 4 campaigns + the scored activities
        ("campaign_responses", "extracted"): "76", ("campaign_responses", "snapshot"): "500",
        ("campaign_responses", "payload"): "4", ("campaign_responses", "quarantined"): "3",
        ("campaign_responses", "loaded"): "missing", ("campaign_responses", "rejected"): "—",
    }


@pytest.mark.integration
@pytest.mark.slow
def test_gate_outcomes_and_failures_are_shown_in_words_and_colour(visit: Any) -> None:
    cells = _cells(visit.dom).cells
    gates = {p: (c["state"], " ".join(c["text"].split())) for (p, s), c in cells.items() if s == "gate"}
    assert gates == {"contact_washing": ("passed", "passed"), "hard_bounces": ("passed", "passed"),
                     "lead_scoring": ("failed", "FAILED"), "campaign_responses": ("missing", "missing")}
    statuses = {p: " ".join(c["text"].split()) for (p, s), c in cells.items() if s == "status"}
    # hard_bounces: its load task failed; campaign_responses: no gate, no load
    assert statuses == {"contact_washing": "OK", "hard_bounces": "FAILED", "lead_scoring": "FAILED",
                        "campaign_responses": "stages missing"}
    text = _text(visit.dom)
    assert "Failed expectations: expect_column_values_to_be_in_set(LeadRating)" in text
    assert f"{UNKNOWN_EMAIL} (ELQ-00107) 2" in text
    assert f"{REASON_UNKNOWN_CAMPAIGN_ID} 2 {REASON_NULL_CAMPAIGN_ID} 1" in text


@pytest.mark.integration
@pytest.mark.slow
def test_both_nights_are_in_the_trend_table(visit: Any) -> None:
    nights = re.findall(r'<tr data-night="([^"]+)"', visit.dom)
    assert nights == [D2.isoformat(), D1.isoformat()]
    row = re.search(rf'<tr data-night="{D1.isoformat()}">(.*?)</tr>', visit.dom, re.S)
    assert row is not None
    # payload 30+1+48+5, 4 gates passed, loaded the same 84 rows, none rejected
    assert _text(row.group(1)).startswith(f"{D1.isoformat()} 4 OK 84 0 4 passed 84 0")


@pytest.mark.integration
@pytest.mark.slow
def test_data_docs_link_is_relative_and_resolves(lake: LakeLayout, visit: Any, written: str) -> None:
    docs = [h for h in _cells(visit.dom).links if "data_docs" in h]
    # only lead_scoring's validation page exists in this lake: the passed gates' pages are not linked
    assert docs == [f"../../quality/data_docs/validations/lead_scoring/{D2.isoformat()}/20261128T020000Z/payload.html"]
    target = (Path(local_path(written)).parent / docs[0]).resolve()
    assert target.is_file()


@pytest.mark.integration
@pytest.mark.slow
def test_page_needs_no_network(visit: Any) -> None:
    assert not [h for h in _cells(visit.dom).links if re.match(r"(?i)^\s*(https?:)?//", h)]
    assert visit.page_requests == ()


@pytest.mark.integration
@pytest.mark.slow
def test_net_log_catches_a_page_that_fetches(chromium: Any, tmp_path: Path) -> None:
    # The check above holds only if a page that does fetch something is caught.
    page = tmp_path / "fetches.html"
    page.write_text('<html><body><img src="http://127.0.0.1:9/logo.png">'
                    '<link rel="stylesheet" href="https://fonts.example.org/a.css"></body></html>')
    visit = chromium.visit(page.as_uri(), "fetches", height=400)
    assert set(visit.page_requests) == {"http://127.0.0.1:9/logo.png", "https://fonts.example.org/a.css"}


@pytest.mark.integration
@pytest.mark.slow
def test_screenshot_is_a_drawn_page(visit: Any) -> None:
    with Image.open(visit.screenshot) as image:
        assert image.format == "PNG"
        colours = image.convert("RGB").resize((160, 400)).getcolors(maxcolors=160 * 400)
    # A blank or error page has a handful of colours; the report has text, badges and charts.
    assert colours is not None and len(colours) > 200


def test_no_data_for_a_day_is_one_line_and_exit_2(lake: LakeLayout, capsys: pytest.CaptureFixture[str]) -> None:
    assert report.main(["--lake", lake.url, "--date", "2026-12-25"]) == 2
    err = capsys.readouterr().err
    assert err == f"no data for 2026-12-25 in {lake.url}: run the nightly for that day first\n"


@pytest.mark.parametrize("date", ["2026-13-01", "27/11/2026"])
def test_bad_date_is_one_line_and_exit_2(lake: LakeLayout, date: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert report.main(["--lake", lake.url, "--date", date]) == 2
    assert capsys.readouterr().err == (
        f"python -m quality.report: invalid date {date!r}: expected YYYY-MM-DD\n")


def test_module_runs_as_a_command(lake: LakeLayout, written: str) -> None:
    result = subprocess.run([sys.executable, "-m", "quality.report", "--lake", lake.url, "--date", str(D1)],
                            capture_output=True, text=True, check=False, timeout=120)
    assert (result.returncode, result.stdout, result.stderr) == (0, lake.report(D1) + "\n", "")


# ---------------------------------------------------------------------------------------------- timings


class _Quick(luigi.Task):
    date = luigi.DateParameter()
    token = luigi.Parameter(default="", significant=False)

    def run(self) -> None:
        self.done = True

    def complete(self) -> bool:
        return getattr(self, "done", False)


class _Broken(luigi.Task):
    date = luigi.DateParameter()

    def run(self) -> None:
        raise RuntimeError("boom")


class _Night(luigi.WrapperTask):
    date = luigi.DateParameter()

    def requires(self) -> list[luigi.Task]:
        return [_Quick(date=self.date, token="s3cr3t"), _Broken(date=self.date)]


def test_timings_record_every_task_without_insignificant_parameters(
        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    layout = LakeLayout("file://" + str(tmp_path / "lake"))
    monkeypatch.setenv("SCC_LAKE_URL", layout.url)
    assert timings.RUNNING  # imported: its handlers are registered
    luigi.build([_Night(date=D2)], local_scheduler=True, workers=1, log_level="CRITICAL")
    docs = {d["family"]: d for d in (json.loads(p.read_text())
                                     for p in Path(local_path(layout.run_tasks(D2))).glob("*.json"))}
    assert {f: (d["status"], d["params"], d["run_date"]) for f, d in docs.items()} == {
        "_Quick": ("done", {"date": "2026-11-27"}, "2026-11-27"),
        "_Broken": ("failed", {"date": "2026-11-27"}, "2026-11-27"),
    }
    for doc in docs.values():
        start, end = (dt.datetime.fromisoformat(doc[k].replace("Z", "+00:00")) for k in ("start", "end"))
        assert doc["seconds"] == pytest.approx((end - start).total_seconds(), abs=0.002)


# ---------------------------------------------------------------------------------------------- Data Docs


@pytest.fixture(scope="module")
def gated_lake(spark: Any, tmp_path_factory: pytest.TempPathFactory) -> LakeLayout:
    """A night whose lead_scoring payload really went through jobs/gate.py: its result.json and Data Docs."""
    from jobs import gate
    from spark.schemas import PAYLOAD_SCHEMAS

    layout = LakeLayout("file://" + str(tmp_path_factory.mktemp("gated")))
    _parquet(layout, layout.staged_contacts(D2), 100)
    rows = [("a@x.com", "A1", 100, 0), ("b@x.com", "D4", 0, 100), ("c@x.com", "E1", 10, 10)]  # E1: no such rating
    payload = layout.import_ready("lead_scoring", D2)
    spark.createDataFrame(rows, PAYLOAD_SCHEMAS["lead_scoring"]).coalesce(1).write.parquet(payload)
    (Path(local_path(payload)) / "_SUCCESS").touch()
    argv = ["--pipeline", "lead_scoring", "--date", D2.isoformat(), "--lake", layout.url, "--approve-initial-load"]
    assert gate.main(argv) == gate.EXIT_GATE_FAILED
    return layout


@pytest.fixture(scope="module")
def gated_visit(chromium: Any, gated_lake: LakeLayout) -> tuple[str, Any]:
    url = report.write_report(gated_lake.url, D2)
    return url, chromium.visit(url, "gated-report")


@pytest.fixture(scope="module")
def docs_visits(chromium: Any, gated_lake: LakeLayout, gated_visit: tuple[str, Any]) -> dict[str, Any]:
    """The validation page the report links to, and the Data Docs index, each opened in Chromium."""
    url, visit = gated_visit
    (link,) = [h for h in _cells(visit.dom).links if "data_docs" in h]
    page = (Path(local_path(url)).parent / link).resolve()
    return {name: chromium.visit(target, name, height=1400)
            for name, target in (("data-docs-page", page.as_uri()),
                                 ("data-docs-index", f"{gated_lake.data_docs()}/index.html"))}


@pytest.mark.spark
@pytest.mark.integration
@pytest.mark.slow
def test_report_shows_the_real_gates_failure_and_links_its_data_docs_page(
        gated_lake: LakeLayout, gated_visit: tuple[str, Any]) -> None:
    url, visit = gated_visit
    cells = _cells(visit.dom)
    assert (cells.cells[("lead_scoring", "gate")]["state"], cells.cells[("lead_scoring", "payload")]["text"]) == (
        "failed", "3")
    assert "Failed expectations: expect_column_values_to_be_in_set(LeadRating)" in _text(visit.dom)
    (link,) = [h for h in cells.links if "data_docs" in h]
    page = (Path(local_path(url)).parent / link).resolve()
    assert page.is_file() and page.is_relative_to(Path(local_path(gated_lake.data_docs())) / "validations")


@pytest.mark.spark
@pytest.mark.integration
@pytest.mark.slow
@pytest.mark.parametrize("name", ["data-docs-page", "data-docs-index"])
def test_data_docs_open_from_the_lake_and_name_the_suite(docs_visits: dict[str, Any], name: str) -> None:
    visit = docs_visits[name]
    assert "lead_scoring" in _text(visit.dom)
    with Image.open(visit.screenshot) as image:
        assert image.format == "PNG" and len(image.convert("RGB").getcolors(maxcolors=1 << 20) or ()) > 50


@pytest.mark.spark
@pytest.mark.integration
@pytest.mark.slow
@pytest.mark.parametrize("name", ["data-docs-page", "data-docs-index"])
def test_data_docs_need_no_network(docs_visits: dict[str, Any], name: str) -> None:
    assert docs_visits[name].page_requests == ()


# Bootstrap 4.3.1's .alert-secondary background: GE's section headers. An unstyled page has none of it.
BOOTSTRAP_ALERT_GREY = (226, 227, 229)


@pytest.mark.spark
@pytest.mark.integration
@pytest.mark.slow
@pytest.mark.parametrize("name", ["data-docs-page", "data-docs-index"])
def test_data_docs_are_styled_and_scripted_offline(gated_lake: LakeLayout, docs_visits: dict[str, Any],
                                                   name: str) -> None:
    visit = docs_visits[name]
    # bootstrap-table (on jQuery) ran: it wraps GE's tables in its container and adds the search box.
    assert "fixed-table-container" in visit.dom
    with Image.open(visit.screenshot) as image:
        colours = {colour: count for count, colour in image.convert("RGB").getcolors(maxcolors=1 << 20) or ()}
    assert colours.get(BOOTSTRAP_ALERT_GREY, 0) > 5000
    # GE's logo is the site's own file, and the site carries the vendored files next to the pages.
    assert "static/images/logo-long.png" in visit.dom
    docs = Path(local_path(gated_lake.data_docs()))
    assert (docs / "static/images/logo-long.png").is_file()
    assert list(docs.glob("static/vendor/*fontawesome*/webfonts/*.woff2"))
