"""The lake layout (docs/data-contract.md section 6): every zone path, exactly, for a local and an S3 lake."""

from __future__ import annotations

import datetime as dt

import pytest

from lake.paths import (
    SUCCESS_FLAG,
    ZONES,
    LakeLayout,
    LakeUrlError,
    day,
    for_spark,
    local_path,
    normalize,
    staging_url,
)

D = "2026-11-27"


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("file:///srv/lake", "file:///srv/lake"),
        ("file:///srv/lake/", "file:///srv/lake"),  # no trailing slash, ever
        ("file://localhost/srv/lake", "file:///srv/lake"),
        ("/srv/lake", "file:///srv/lake"),  # a bare path is a local lake
        ("  /srv/lake  ", "file:///srv/lake"),
        ("/srv/../srv/lake", "file:///srv/lake"),
        ("s3://bucket/prefix/", "s3://bucket/prefix"),
        ("s3://bucket", "s3://bucket"),
        ("s3a://bucket/a/b", "s3://bucket/a/b"),  # Spark's spelling is accepted and stored as s3://
    ],
)
def test_normalize_gives_one_canonical_url(given: str, expected: str) -> None:
    assert normalize(given) == expected


def test_normalize_makes_relative_paths_absolute(tmp_path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    assert normalize("var/lake") == f"file://{tmp_path}/var/lake"


@pytest.mark.parametrize(
    ("given", "reason"),
    [
        ("", "empty"),
        ("file://host/srv/lake", "names a host"),
        ("s3:///prefix", "no bucket"),
        ("hdfs://nn/lake", "scheme 'hdfs'"),
    ],
)
def test_normalize_rejects_what_it_cannot_serve_with_one_line(given: str, reason: str) -> None:
    with pytest.raises(LakeUrlError, match=reason) as error:
        normalize(given)
    assert "\n" not in str(error.value)


def test_for_spark_spells_s3_as_s3a_and_leaves_local_urls_alone() -> None:
    assert for_spark("s3://bucket/lake/raw") == "s3a://bucket/lake/raw"
    assert for_spark("file:///srv/lake/raw") == "file:///srv/lake/raw"


def test_local_path_of_file_urls_only() -> None:
    assert local_path("file:///srv/lake/raw") == "/srv/lake/raw"
    with pytest.raises(LakeUrlError):
        local_path("s3://bucket/lake")


def test_day_accepts_dates_and_iso_strings_only() -> None:
    assert day(dt.date(2026, 1, 2)) == "2026-01-02"
    assert day("2026-01-02") == "2026-01-02"
    with pytest.raises(ValueError, match="expected YYYY-MM-DD"):
        day("02/01/2026")


ZONE_PATHS = [
    # (method, args, path under the lake)
    ("raw_contacts", (D,), f"raw/contacts/run_date={D}"),
    ("raw_activities", ("EmailOpen", D), f"raw/activities/activity_type=EmailOpen/activity_date={D}"),
    ("raw_activities_root", (), "raw/activities"),
    ("raw_custom_object", ("event_registrations", D), f"raw/event_registrations/run_date={D}"),
    ("staged_contacts", (D,), f"staged/contacts/run_date={D}"),
    ("staged_contacts_root", (), "staged/contacts"),
    ("import_ready", ("lead_scoring", D), f"import_ready/lead_scoring/run_date={D}"),
    ("quarantine", ("campaign_responses", D), f"quarantine/campaign_responses/run_date={D}"),
    ("quality", ("hard_bounces", D), f"quality/hard_bounces/run_date={D}"),
    ("data_docs", (), "quality/data_docs"),
    ("loaded_receipt", ("contact_washing", D), f"loaded/contact_washing/run_date={D}/receipt.json"),
    ("rejects", ("contact_washing", D), f"rejects/contact_washing/run_date={D}"),
    ("run_task", (D, "Nightly_2026_11_27_8f3b"), f"runs/run_date={D}/tasks/Nightly_2026_11_27_8f3b.json"),
    ("run_tasks", (D,), f"runs/run_date={D}/tasks"),
    ("report", (D,), f"reports/run_date={D}/index.html"),
    ("state", ("extract", "contacts.json"), "_state/extract/contacts.json"),
]


@pytest.mark.parametrize("lake_url", ["file:///srv/lake", "s3://bucket/nightly"])
@pytest.mark.parametrize(("method", "args", "path"), ZONE_PATHS, ids=[z[0] for z in ZONE_PATHS])
def test_every_zone_path_is_the_lake_url_plus_the_spec_path(lake_url, method, args, path) -> None:
    assert getattr(LakeLayout(lake_url), method)(*args) == f"{lake_url}/{path}"


def test_zone_paths_take_dates_as_date_objects_too() -> None:
    layout = LakeLayout("s3://bucket/nightly/")
    assert layout.raw_contacts(dt.date(2026, 11, 27)) == f"s3://bucket/nightly/raw/contacts/run_date={D}"


def test_every_zone_of_the_spec_has_a_path() -> None:
    layout = LakeLayout("file:///srv/lake")
    built = {getattr(layout, method)(*args) for method, args, _ in ZONE_PATHS}
    tops = {url[len("file:///srv/lake/") :].split("/")[0] for url in built}
    assert tops == set(ZONES)


def test_layout_is_s3_only_for_s3_lakes() -> None:
    assert LakeLayout("s3a://bucket/x").is_s3
    assert LakeLayout("s3a://bucket/x").url == "s3://bucket/x"
    assert not LakeLayout("/srv/lake").is_s3


def test_success_flag_sits_inside_the_dataset() -> None:
    assert LakeLayout.success_flag(f"s3://b/l/staged/contacts/run_date={D}/") == (
        f"s3://b/l/staged/contacts/run_date={D}/{SUCCESS_FLAG}"
    )


def test_staging_url_is_a_hidden_sibling_without_partition_syntax() -> None:
    url = f"s3://b/l/raw/activities/activity_type=EmailOpen/activity_date={D}"
    staged = staging_url(url, "ab12")
    assert staged == f"s3://b/l/raw/activities/activity_type=EmailOpen/_tmp-activity_date_{D}-ab12"
    name = staged.rsplit("/", 1)[1]
    # Spark skips names starting with "_" only when they hold no "="; pyarrow skips "_" and "." prefixes.
    assert name.startswith("_") and "=" not in name


@pytest.mark.parametrize(
    ("url", "token"), [("s3://b", "ab"), (f"file:///l/x={D}", ""), ("file:///l/x", "a/b")]
)
def test_staging_url_rejects_bad_input(url: str, token: str) -> None:
    with pytest.raises(LakeUrlError):
        staging_url(url, token)


@pytest.mark.parametrize(
    ("given", "expected"),
    [
        ("s3://b/p/staged/contacts/run_date=2026-11-27", dt.date(2026, 11, 27)),
        ("run_date=2026-11-27/", dt.date(2026, 11, 27)),
        ("run_date=2026-02-30", None),  # not a day
        ("_tmp-run_date_2026-11-27-abc", None),  # a staging folder is no dataset of a run
        ("activity_date=2026-11-27", None),
    ],
)
def test_run_date_folders_are_read_back_only_from_their_own_names(given, expected) -> None:
    from lake.paths import run_date_of

    assert run_date_of(given) == expected


def test_run_date_folders_round_trip_and_sort_oldest_first() -> None:
    from lake.paths import run_date_folder, run_dates

    days = [dt.date(2026, 11, 27), dt.date(2026, 1, 3)]
    assert run_date_folder(days[0]) == "run_date=2026-11-27"
    assert run_dates([run_date_folder(d) for d in days] + ["x", "_SUCCESS"]) == sorted(days)
