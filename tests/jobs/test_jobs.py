"""The spark-submit entry points on a tiny raw lake in ``tmp_path``: each ``main()`` runs in-process on the
session fixture (``build_session`` reuses it); one job also runs through a real ``spark-submit``."""

from __future__ import annotations

import datetime as dt
import json
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from chispa import assert_df_equality

from contract.calendar import lookback_days
from contract.objects import ACTIVITIES, CAMPAIGN_RESPONSES, CONTACTS, SFDC_CAMPAIGNS
from jobs import campaign_responses, contact_washing, contacts_snapshot, hard_bounces, lead_scoring
from lake.paths import LakeLayout, local_path
from spark.lead_scoring import SCORED_ACTIVITY_TYPES
from spark.schemas import PAYLOAD_SCHEMAS, QUARANTINE_CAMPAIGN_RESPONSES, RAW_CONTACTS
from tests.jobs.rawlake import utc, write_dataset
from tests.spark.builders import frame

pytestmark = pytest.mark.spark

REPO = Path(__file__).resolve().parents[2]
D = dt.date(2026, 11, 27)
P = D - dt.timedelta(days=1)

ANN_P = {
    "ContactId": "1",
    "EmailAddress": "ann@x.com",
    "Title": "CEO",
    "Country": "usa",
    "StateProv": "california",
    "Industry": "Technology",
    "UpdatedAt": utc("2026-11-26 10:00:00"),
}
ANN_D = {**ANN_P, "Title": "VP Marketing", "UpdatedAt": utc("2026-11-27 09:00:00")}
BOB = {
    "ContactId": "2",
    "EmailAddress": "bob@x.com",
    "Title": "Engineer",
    "Country": "US",
    "StateProv": "CA",
    "JobLevel": "Individual Contributor",
    "Industry": "Retail",
    "LeadRating": "C2",
    "ProfileScore": 40,
    "EngagementScore": 30,
    "UpdatedAt": utc("2026-11-01 00:00:00"),
}
NO_EMAIL = {"ContactId": "3", "EmailAddress": None, "Title": "VP", "UpdatedAt": utc("2026-11-02 00:00:00")}
DEE = {
    "ContactId": "4",
    "EmailAddress": "dee@x.com",
    "Title": "Director",
    "Country": "Deutschland",
    "UpdatedAt": utc("2026-11-27 11:00:00"),
}
LATE = {"ContactId": "5", "EmailAddress": "late@x.com", "UpdatedAt": utc("2026-11-28 00:00:00")}


def _run(module, *args: str) -> int:
    return module.main(["--date", D.isoformat(), *args])


@pytest.fixture(scope="module")
def lake(spark, tmp_path_factory) -> LakeLayout:
    """A raw zone for P (full contacts export) and D, with the snapshots of P and D built by the job."""
    layout = LakeLayout(f"file://{tmp_path_factory.mktemp('lake')}")
    write_dataset(layout.raw_contacts(P), CONTACTS, [ANN_P, BOB, NO_EMAIL])
    write_dataset(layout.raw_contacts(D), CONTACTS, [ANN_D, DEE, LATE])
    # every partition of the lookback is complete; most are empty
    for kind in SCORED_ACTIVITY_TYPES:
        for day in lookback_days(D, 90):
            write_dataset(layout.raw_activities(kind, day), ACTIVITIES)

    def act(aid, kind, contact, at, **extra):
        return {
            "ActivityId": aid,
            "ActivityType": kind,
            "ActivityDate": utc(at),
            "ContactId": contact,
            **extra,
        }

    opens = [act(f"o{n}", "EmailOpen", "1", "2026-11-27 08:00:00") for n in range(3)]
    write_dataset(layout.raw_activities("EmailOpen", D), ACTIVITIES, [*opens, opens[0]])  # o0 twice
    write_dataset(
        layout.raw_activities("FormSubmit", dt.date(2026, 8, 30)),
        ACTIVITIES,
        [
            act("f1", "FormSubmit", "1", "2026-08-30 00:00:00"),
            act("f2", "FormSubmit", None, "2026-08-30 01:00:00", EmailAddress="bob@x.com"),
        ],
    )
    clicks = [act(f"c{n}", "EmailClickthrough", "2", "2026-11-27 07:00:00") for n in range(11)]
    write_dataset(layout.raw_activities("EmailClickthrough", D), ACTIVITIES, clicks)
    write_dataset(
        layout.raw_activities("Bounceback", D),
        ACTIVITIES,
        [
            act("b1", "Bounceback", "2", "2026-11-27 08:00:00", SmtpErrorCode="5.1.1"),
            act(
                "b2",
                "Bounceback",
                None,
                "2026-11-27 12:00:00",
                EmailAddress=" ANN@x.com",
                SmtpStatusCode="550",
            ),
            act("b3", "Bounceback", "2", "2026-11-27 20:00:00", SmtpErrorCode="4.2.0"),
            act("b4", "Bounceback", "999", "2026-11-27 09:00:00", SmtpErrorCode="5.7.1"),
        ],
    )
    write_dataset(
        layout.raw_custom_object("campaign_responses", D),
        CAMPAIGN_RESPONSES,
        [
            {
                "ResponseId": "R1",
                "ContactEmail": " Ann@X.com",
                "CampaignId": "C1",
                "ResponseStatus": "no-show",
                "RespondedAt": utc("2026-11-27 10:00:00"),
            },
            {
                "ResponseId": "R2",
                "ContactEmail": "nobody@x.com",
                "CampaignId": "C1",
                "ResponseStatus": "Attended",
                "RespondedAt": utc("2026-11-27 11:00:00"),
            },
            {
                "ResponseId": "R3",
                "ContactEmail": "dee@x.com",
                "CampaignId": "C404",
                "ResponseStatus": "Registered",
                "RespondedAt": utc("2026-11-27 12:00:00"),
            },
            {
                "ResponseId": "R4",
                "ContactEmail": "ann@x.com",
                "CampaignId": "C1",
                "ResponseStatus": "Attended",
                "RespondedAt": utc("2026-11-26 12:00:00"),
            },
        ],
    )
    write_dataset(
        layout.raw_custom_object("sfdc_campaigns", D),
        SFDC_CAMPAIGNS,
        [{"CampaignId": "C1", "CampaignName": "Summit", "CampaignType": "Event", "IsActive": True}],
    )
    assert contacts_snapshot.main(["--date", P.isoformat(), "--lake", layout.url]) == 0
    assert contacts_snapshot.main(["--date", D.isoformat(), "--lake", layout.url]) == 0
    return layout


def _read(spark, url: str):
    return spark.read.parquet(url)


def _assert_complete(url: str) -> dict:
    folder = Path(local_path(url))
    assert (folder / "_SUCCESS").is_file()
    assert [p.name for p in folder.parent.iterdir() if p.name.startswith("_tmp")] == []
    return json.loads((folder / "_metrics.json").read_text())


def test_contacts_snapshot_job_merges_the_increment_into_the_previous_snapshot(spark, lake) -> None:
    expected = frame(spark, RAW_CONTACTS, [ANN_D, BOB, NO_EMAIL, DEE])
    actual = _read(spark, lake.staged_contacts(D))
    assert_df_equality(actual, expected, ignore_row_order=True, ignore_nullable=True)
    metrics = _assert_complete(lake.staged_contacts(D))
    assert metrics == {"rows": 4, "previous_snapshot": "2026-11-26", "raw_exports": ["2026-11-27"]}


def test_contacts_snapshot_job_full_refresh_ignores_the_previous_snapshot(spark, lake, tmp_path) -> None:
    other = LakeLayout(f"file://{tmp_path}")
    write_dataset(other.raw_contacts(P), CONTACTS, [ANN_P, BOB])
    write_dataset(other.raw_contacts(D), CONTACTS, [ANN_D])
    assert contacts_snapshot.main(["--date", P.isoformat(), "--lake", other.url]) == 0
    assert _run(contacts_snapshot, "--lake", other.url, "--full-refresh") == 0
    expected = frame(spark, RAW_CONTACTS, [ANN_D])
    assert_df_equality(_read(spark, other.staged_contacts(D)), expected, ignore_nullable=True)


def test_contact_washing_job_writes_the_changed_contacts(spark, lake) -> None:
    assert _run(contact_washing, "--lake", lake.url) == 0
    url = lake.import_ready("contact_washing", D)
    expected = frame(
        spark,
        PAYLOAD_SCHEMAS["contact_washing"],
        [
            {"EmailAddress": "ann@x.com", "Country": "US", "StateProv": "CA", "JobLevel": "VP"},
            {"EmailAddress": "dee@x.com", "Country": "DE", "StateProv": None, "JobLevel": "Director"},
        ],
    )
    assert_df_equality(_read(spark, url), expected, ignore_row_order=True, ignore_nullable=True)
    assert _assert_complete(url) == {"rows": 2}


def test_hard_bounces_job_writes_the_day_s_hard_bounces_and_counts_unmatched_ones(spark, lake) -> None:
    assert _run(hard_bounces, "--lake", lake.url) == 0
    url = lake.import_ready("hard_bounces", D)
    expected = frame(
        spark,
        PAYLOAD_SCHEMAS["hard_bounces"],
        [
            {"EmailAddress": "bob@x.com", "HardBouncedAt": utc("2026-11-27 08:00:00"), "IsBounced": True},
            {"EmailAddress": "ann@x.com", "HardBouncedAt": utc("2026-11-27 12:00:00"), "IsBounced": True},
        ],
    )
    assert_df_equality(_read(spark, url), expected, ignore_row_order=True, ignore_nullable=True)
    assert _assert_complete(url) == {"rows": 2, "unmatched_hard_bounces": 1}


def test_lead_scoring_job_scores_the_lookback_and_emits_changed_ratings(spark, lake) -> None:
    assert _run(lead_scoring, "--lake", lake.url) == 0
    url = lake.import_ready("lead_scoring", D)
    expected = frame(
        spark,
        PAYLOAD_SCHEMAS["lead_scoring"],
        [
            # VP 35 + US 30 + technology 30; 3 opens (o0 deduplicated) + 1 form on D-89 = 13
            {"EmailAddress": "ann@x.com", "LeadRating": "A3", "ProfileScore": 95, "EngagementScore": 13},
            # Director 30 + DE 30; no activities
            {"EmailAddress": "dee@x.com", "LeadRating": "B4", "ProfileScore": 60, "EngagementScore": 0},
            # bob computes to C2/40/30 as the snapshot already says: not emitted
        ],
    )
    assert_df_equality(_read(spark, url), expected, ignore_row_order=True, ignore_nullable=True)
    _assert_complete(url)


def test_lead_scoring_job_reads_targets_from_the_settings_file(spark, lake, tmp_path) -> None:
    settings = tmp_path / "pipelines.toml"
    settings.write_text('[lead_scoring]\ntarget_countries = ["DE"]\ntarget_industries = []\n')
    assert _run(lead_scoring, "--lake", lake.url, "--settings", str(settings)) == 0
    expected = frame(
        spark,
        PAYLOAD_SCHEMAS["lead_scoring"],
        [
            {"EmailAddress": "ann@x.com", "LeadRating": "C3", "ProfileScore": 35, "EngagementScore": 13},
            {"EmailAddress": "bob@x.com", "LeadRating": "D2", "ProfileScore": 10, "EngagementScore": 30},
            {"EmailAddress": "dee@x.com", "LeadRating": "B4", "ProfileScore": 60, "EngagementScore": 0},
        ],
    )
    actual = _read(spark, lake.import_ready("lead_scoring", D))
    assert_df_equality(actual, expected, ignore_row_order=True, ignore_nullable=True)


def test_campaign_responses_job_enriches_and_quarantines(spark, lake) -> None:
    assert _run(campaign_responses, "--lake", lake.url) == 0
    payload_url = lake.import_ready("campaign_responses", D)
    expected = frame(
        spark,
        PAYLOAD_SCHEMAS["campaign_responses"],
        [
            {
                "ResponseId": "R1",
                "CampaignName": "Summit",
                "CampaignType": "Event",
                "LeadRatingAtResponse": "A3",
                "StatusNormalized": "No Show",
            },
            {
                "ResponseId": "R2",
                "CampaignName": "Summit",
                "CampaignType": "Event",
                "LeadRatingAtResponse": None,
                "StatusNormalized": "Attended",
            },
        ],
    )
    assert_df_equality(_read(spark, payload_url), expected, ignore_row_order=True, ignore_nullable=True)
    quarantine_url = lake.quarantine("campaign_responses", D)
    expected_quarantine = frame(
        spark,
        QUARANTINE_CAMPAIGN_RESPONSES,
        [
            {
                "ResponseId": "R3",
                "ContactEmail": "dee@x.com",
                "CampaignId": "C404",
                "ResponseStatus": "Registered",
                "RespondedAt": utc("2026-11-27 12:00:00"),
                "reason": "CampaignId matches no Salesforce campaign",
            }
        ],
    )
    assert_df_equality(_read(spark, quarantine_url), expected_quarantine, ignore_nullable=True)
    assert _assert_complete(payload_url) == {"rows": 2, "responses_of_day": 3, "quarantined": 1}
    assert _assert_complete(quarantine_url) == {"rows": 1, "responses_of_day": 3}


def test_a_rerun_replaces_the_dataset_atomically(spark, lake) -> None:
    url = lake.import_ready("contact_washing", D)
    assert _run(contact_washing, "--lake", lake.url) == 0
    first = {p.name for p in Path(local_path(url)).iterdir()}
    assert _run(contact_washing, "--lake", lake.url) == 0
    second = {p.name for p in Path(local_path(url)).iterdir()}
    assert _read(spark, url).count() == 2

    def writes(names: set[str]) -> set[str]:  # the write job ids in the part files' names
        return {m.group(1) for n in names if (m := re.match(r"\.?part-\d+-([0-9a-f-]{36})-", n))}

    def bookkeeping(names: set[str]) -> set[str]:
        return {n for n in names if not re.match(r"\.?part-", n)}

    # Only the rerun's files: one write's parts (Spark may split the 2 rows into another number of files),
    # nothing left of the first write, the same bookkeeping files
    assert len(writes(second)) == 1 and writes(second) != writes(first)
    assert bookkeeping(second) == bookkeeping(first)
    _assert_complete(url)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ["--date", "2026-02-30", "--lake", "file:///tmp/x"],
            "invalid date '2026-02-30': expected YYYY-MM-DD",
        ),
        (["--date", "27/11/2026", "--lake", "file:///tmp/x"], "expected YYYY-MM-DD"),
        (["--date", "2026-11-27", "--lake", "ftp://host/x"], "use file:///path or s3://bucket/prefix"),
        (["--lake", "file:///tmp/x"], "the following arguments are required: --date"),
    ],
)
def test_bad_arguments_exit_2_with_one_line(spark, capsys, args, message) -> None:
    assert hard_bounces.main(args) == 2
    err = capsys.readouterr().err
    assert message in err
    assert err.count("\n") == 1


def test_missing_input_exits_2_with_one_line_naming_it(spark, lake, capsys) -> None:
    day = "2026-11-25"  # no snapshot for that day
    assert hard_bounces.main(["--date", day, "--lake", lake.url]) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1
    assert (
        f"missing input: the contacts snapshot (jobs/contacts_snapshot.py) at {lake.staged_contacts(day)}"
        in err
    )


def test_missing_lookback_partition_exits_2(spark, lake, capsys, tmp_path) -> None:
    other = LakeLayout(f"file://{tmp_path}")
    write_dataset(other.raw_contacts(D), CONTACTS, [DEE])
    assert contacts_snapshot.main(["--date", D.isoformat(), "--lake", other.url]) == 0
    assert _run(lead_scoring, "--lake", other.url) == 2
    err = capsys.readouterr().err
    assert "missing input: the EmailOpen/EmailClickthrough/FormSubmit/WebVisit activities at" in err
    assert "(and 359 more)" in err


@pytest.mark.slow
def test_contact_washing_runs_through_spark_submit(lake, tmp_path) -> None:
    env = {**os.environ, "PYSPARK_PYTHON": sys.executable, "PYSPARK_DRIVER_PYTHON": sys.executable}
    out = lake.import_ready("contact_washing", D)
    (Path(local_path(out)) / "_SUCCESS").unlink(missing_ok=True)
    result = subprocess.run(
        [
            str(Path(sys.executable).parent / "spark-submit"),
            "--master",
            "local[1]",
            "--conf",
            "spark.ui.enabled=false",
            "--driver-java-options",
            "-Duser.timezone=UTC",
            str(REPO / "jobs" / "contact_washing.py"),
            "--date",
            D.isoformat(),
            "--lake",
            lake.url,
        ],
        cwd=tmp_path,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stderr[-3000:]
    assert f"contact_washing {D}: wrote 2 rows to {out}" in result.stdout
    assert _assert_complete(out) == {"rows": 2}


def test_a_raw_export_without_a_contract_column_exits_2_naming_it(spark, capsys, tmp_path) -> None:
    import pyarrow as pa
    import pyarrow.parquet as pq

    other = LakeLayout(f"file://{tmp_path}")
    folder = Path(local_path(other.raw_contacts(D)))
    folder.mkdir(parents=True)
    pq.write_table(pa.table({"ContactId": ["1"], "EmailAddress": ["a@x.com"]}), folder / "part-0.parquet")
    (folder / "_SUCCESS").touch()
    assert _run(contacts_snapshot, "--lake", other.url) == 2
    err = capsys.readouterr().err
    assert err.startswith("contacts_snapshot: input lacks contract column(s) FirstName, LastName")
    assert err.count("\n") == 1
