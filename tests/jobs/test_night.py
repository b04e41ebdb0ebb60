"""``jobs/night.py``: the night's jobs in one session give exactly the datasets the jobs give alone, published
outputs are skipped, a failed pipeline stops only itself and its gate, and the first-load approval reaches the
gate (``main()`` in-process on the session SparkSession)."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest
from chispa import assert_df_equality

from contract.calendar import lookback_days
from contract.objects import ACTIVITIES, CAMPAIGN_RESPONSES, CONTACTS, PIPELINES, SFDC_CAMPAIGNS
from jobs import campaign_responses, contact_washing, contacts_snapshot, gate, hard_bounces, lead_scoring, night
from lake.paths import LakeLayout, local_path
from spark.hard_bounces import BOUNCEBACK
from spark.lead_scoring import SCORED_ACTIVITY_TYPES
from tests.jobs.rawlake import utc, write_dataset

pytestmark = pytest.mark.spark

D = dt.date(2026, 11, 27)
LOOKBACK = 2  # days: enough for the rules, few empty partitions to list
ALONE = (contacts_snapshot, contact_washing, hard_bounces, lead_scoring, campaign_responses)

CONTACT_ROWS = [
    {"ContactId": "1", "EmailAddress": "ann@x.com", "Title": "VP Marketing", "Country": "usa",
     "StateProv": "california", "Industry": "Technology", "UpdatedAt": utc("2026-11-27 09:00:00")},
    {"ContactId": "2", "EmailAddress": "bob@x.com", "Title": "Engineer", "Country": "US", "StateProv": "CA",
     "JobLevel": "Individual Contributor", "LeadRating": "C2", "ProfileScore": 40, "EngagementScore": 30,
     "UpdatedAt": utc("2026-11-01 00:00:00")},
    {"ContactId": "4", "EmailAddress": "dee@x.com", "Title": "Director", "Country": "Deutschland",
     "UpdatedAt": utc("2026-11-27 11:00:00")},
]


def _act(aid: str, kind: str, contact: str | None, at: str, **extra: object) -> dict[str, object]:
    return {"ActivityId": aid, "ActivityType": kind, "ActivityDate": utc(at), "ContactId": contact, **extra}


def _raw_zone(root: Path) -> tuple[LakeLayout, Path]:
    """A raw zone for D (first run: a full contacts export) and a settings file with a short lookback."""
    layout = LakeLayout(f"file://{root / 'lake'}")
    root.mkdir(parents=True, exist_ok=True)
    settings = root / "pipelines.toml"
    settings.write_text(f"[lead_scoring]\nlookback_days = {LOOKBACK}\n")
    write_dataset(layout.raw_contacts(D), CONTACTS, CONTACT_ROWS)
    for kind in (*SCORED_ACTIVITY_TYPES, BOUNCEBACK):
        for day in lookback_days(D, LOOKBACK):
            write_dataset(layout.raw_activities(kind, day), ACTIVITIES)
    write_dataset(layout.raw_activities("EmailOpen", D), ACTIVITIES,
                  [_act(f"o{n}", "EmailOpen", "1", "2026-11-27 08:00:00") for n in range(3)])
    write_dataset(layout.raw_activities(BOUNCEBACK, D), ACTIVITIES, [
        _act("b1", BOUNCEBACK, "2", "2026-11-27 08:00:00", SmtpErrorCode="5.1.1"),
        _act("b2", BOUNCEBACK, "999", "2026-11-27 09:00:00", SmtpErrorCode="5.7.1"),
    ])
    write_dataset(layout.raw_custom_object("campaign_responses", D), CAMPAIGN_RESPONSES, [
        {"ResponseId": "R1", "ContactEmail": "ann@x.com", "CampaignId": "C1", "ResponseStatus": "Attended",
         "RespondedAt": utc("2026-11-27 10:00:00")},
        {"ResponseId": "R2", "ContactEmail": "dee@x.com", "CampaignId": "C404", "ResponseStatus": "Registered",
         "RespondedAt": utc("2026-11-27 12:00:00")},
    ])
    write_dataset(layout.raw_custom_object("sfdc_campaigns", D), SFDC_CAMPAIGNS,
                  [{"CampaignId": "C1", "CampaignName": "Summit", "CampaignType": "Event", "IsActive": True}])
    return layout, settings


def _night(layout: LakeLayout, settings: Path, *extra: str) -> int:
    return night.main(["--date", D.isoformat(), "--lake", layout.url, "--settings", str(settings), *extra])


def _datasets(layout: LakeLayout) -> list[str]:
    """The published datasets of the transform jobs (payloads, and the quarantines the jobs write)."""
    urls = [layout.staged_contacts(D), *(layout.import_ready(p, D) for p in PIPELINES),
            *(layout.quarantine(p, D) for p in PIPELINES)]
    return [u for u in urls if Path(local_path(u), "_SUCCESS").is_file()]


def _flag_time(url: str) -> int:
    return (Path(local_path(url)) / "_SUCCESS").stat().st_mtime_ns


def _gate_result(layout: LakeLayout, pipeline: str) -> dict:
    return json.loads((Path(local_path(layout.quality(pipeline, D))) / gate.RESULT_FILE).read_text())


def test_the_night_writes_what_each_job_writes_alone_and_gates_each_payload(spark, tmp_path, capsys) -> None:
    together, settings = _raw_zone(tmp_path / "together")
    alone, _ = _raw_zone(tmp_path / "alone")

    assert _night(together, settings, "--approve-initial-load", "hard_bounces") == 0
    for module in ALONE:
        assert module.main(["--date", D.isoformat(), "--lake", alone.url, "--settings", str(settings)]) == 0

    assert len(_datasets(alone)) >= 1 + len(PIPELINES) + 1
    assert [u[len(together.url):] for u in _datasets(together)] == [u[len(alone.url):] for u in _datasets(alone)]
    for there, here in zip(_datasets(together), _datasets(alone), strict=True):
        assert_df_equality(spark.read.parquet(there), spark.read.parquet(here), ignore_row_order=True)
        assert (Path(local_path(there)) / "_metrics.json").read_text() == (
            Path(local_path(here)) / "_metrics.json").read_text()
    out = capsys.readouterr().out
    assert [line.split(" exit ")[0] for line in out.splitlines() if " exit " in line] == [
        f"night {D}: {job}" for job in night.NIGHT]
    # only the approved first load passes its gate; the others wait for an approval
    approved = {p: _gate_result(together, p)["initial_load_approved"] for p in PIPELINES}
    assert approved == {p: p == "hard_bounces" for p in PIPELINES}
    passed = {p: (Path(local_path(together.quality(p, D))) / gate.PASSED_FLAG).is_file() for p in PIPELINES}
    assert passed == {p: p == "hard_bounces" for p in PIPELINES}


def test_published_outputs_are_skipped_and_a_failed_pipeline_stops_only_itself(spark, tmp_path, capsys) -> None:
    layout, settings = _raw_zone(tmp_path)
    jobs = ",".join(job for job in night.NIGHT if not job.startswith(night.GATE_PREFIX))
    missing = Path(local_path(layout.raw_activities("WebVisit", D))) / "_SUCCESS"
    missing.unlink()  # lead_scoring and campaign_responses read WebVisit; the other two do not

    assert _night(layout, settings, "--jobs", f"{jobs},gate:lead_scoring", "--exit-for", "lead_scoring") == 2
    out = capsys.readouterr().out
    assert f"night {D}: gate:lead_scoring not run: lead_scoring failed in this night" in out
    done = {job: Path(local_path(url), "_SUCCESS").is_file()
            for job, url in [("contacts_snapshot", layout.staged_contacts(D)),
                             *((p, layout.import_ready(p, D)) for p in PIPELINES)]}
    assert done == {"contacts_snapshot": True, "contact_washing": True, "hard_bounces": True,
                    "lead_scoring": False, "campaign_responses": False}
    published = {url: _flag_time(url) for url in (layout.staged_contacts(D), layout.import_ready("hard_bounces", D))}

    # the same night asked for a job that succeeded exits 0 though another failed: each task judges its own job
    assert _night(layout, settings, "--jobs", jobs, "--exit-for", "hard_bounces") == 0
    out = capsys.readouterr().out
    assert f"night {D}: contacts_snapshot already published, skipped" in out
    assert f"night {D}: hard_bounces already published, skipped" in out
    assert f"night {D}: lead_scoring exit 2" in out

    missing.touch()
    assert _night(layout, settings, "--jobs", "lead_scoring", "--exit-for", "lead_scoring") == 0
    assert Path(local_path(layout.import_ready("lead_scoring", D)), "_SUCCESS").is_file()
    assert {url: _flag_time(url) for url in published} == published  # nothing else was redone


def test_an_exit_for_outside_the_jobs_exits_2_with_one_line(spark, tmp_path, capsys) -> None:
    layout, settings = _raw_zone(tmp_path)
    assert _night(layout, settings, "--jobs", "contacts_snapshot", "--exit-for", "hard_bounces") == 2
    err = capsys.readouterr().err
    assert err == "night: --exit-for hard_bounces is not among --jobs contacts_snapshot\n"
    assert not Path(local_path(layout.staged_contacts(D))).exists()


def test_an_unknown_job_exits_2_with_one_line(spark, tmp_path, capsys) -> None:
    layout, settings = _raw_zone(tmp_path)
    assert _night(layout, settings, "--jobs", "contacts_snapshot,wash_dishes") == 2
    err = capsys.readouterr().err
    assert "unknown job(s) wash_dishes: pick from contacts_snapshot," in err and err.count("\n") == 1


def test_a_republished_export_rebuilds_the_snapshot_and_what_was_built_from_it(spark, tmp_path, capsys) -> None:
    layout, settings = _raw_zone(tmp_path)
    jobs = ("--jobs", "contacts_snapshot,contact_washing", "--exit-for", "contact_washing")
    export = Path(local_path(layout.raw_contacts(D)), "_export.json")
    export.write_text(json.dumps({"sync_uri": "/syncs/1", "exported_at": "2026-11-28T01:00:00Z"}))
    assert _night(layout, settings, *jobs) == 0
    assert _night(layout, settings, *jobs) == 0
    assert capsys.readouterr().out.count("already published, skipped") == 2  # the second night did nothing

    export.write_text(json.dumps({"sync_uri": "/syncs/2", "exported_at": "2026-11-28T05:00:00Z"}))  # a re-export
    assert _night(layout, settings, *jobs) == 0
    out = capsys.readouterr().out
    assert "skipped" not in out
    assert f"night {D}: contacts_snapshot exit 0" in out and f"night {D}: contact_washing exit 0" in out
    record = json.loads(Path(local_path(layout.staged_contacts(D)), "_inputs.json").read_text())
    assert record["inputs"] == {layout.raw_contacts(D): "export /syncs/2 at 2026-11-28T05:00:00Z"}
