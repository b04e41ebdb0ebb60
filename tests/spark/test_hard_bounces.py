"""``hard_bounces`` (spec 3.2): hard vs soft, the window, matching by ContactId then email, suppression."""

from __future__ import annotations

import pytest
from chispa import assert_df_equality

from spark.columns import day_window
from spark.hard_bounces import (
    hard_bounces_payload,
    hard_bounces_quarantine,
    is_hard_bounce,
    unmatched_hard_bounces,
)
from spark.schemas import PAYLOAD_SCHEMAS, RAW_ACTIVITIES
from spark.washing import quarantine_schema
from tests.spark.builders import D, activities, contacts, frame, ts

pytestmark = pytest.mark.spark

WINDOW = day_window(D)


def _bounce(activity_id: str, contact_id: str | None, at: str, error: str | None = "5.1.1", **extra) -> dict:
    row = {
        "ActivityId": activity_id,
        "ActivityType": "Bounceback",
        "ActivityDate": ts(at),
        "ContactId": contact_id,
        "SmtpErrorCode": error,
    }
    row.update(extra)
    return row


def _payload(spark, *rows: tuple[str, str]):
    return frame(
        spark,
        PAYLOAD_SCHEMAS["hard_bounces"],
        [{"EmailAddress": e, "HardBouncedAt": ts(t), "IsBounced": True} for e, t in rows],
    )


def _snapshot(spark, *extra: dict):
    return contacts(
        spark,
        {"ContactId": "1", "EmailAddress": "one@x.com"},
        {"ContactId": "2", "EmailAddress": " Two@X.com "},
        *extra,
    )


CODE_CASES = [
    ("5.1.1", None, True),  # enhanced status code class 5
    (None, "550", True),  # SMTP reply code 5xx
    ("4.2.2", "550", True),  # either code is enough
    ("4.4.1", "421", False),  # soft: class 4
    (None, None, False),
    ("", "", False),
    (" 5.1.1", None, False),  # starts with a space, not with 5
    ("2.0.0", "250", False),
]


def test_is_hard_bounce_looks_at_the_first_character_of_either_code(spark) -> None:
    df = spark.createDataFrame(
        [(e, s) for e, s, _ in CODE_CASES], "SmtpErrorCode string, SmtpStatusCode string"
    )
    expected = spark.createDataFrame(CODE_CASES, "SmtpErrorCode string, SmtpStatusCode string, hard boolean")
    actual = df.withColumn("hard", is_hard_bounce(df.SmtpErrorCode, df.SmtpStatusCode))
    assert_df_equality(actual, expected, ignore_nullable=True)


def test_hard_bounces_take_the_latest_hard_bounce_of_the_day_per_contact(spark) -> None:
    bounces = activities(
        spark,
        _bounce("a1", "1", "2026-11-27 08:00:00"),
        _bounce("a2", "1", "2026-11-27 17:30:00", None, SmtpStatusCode="550"),
        _bounce("a3", "1", "2026-11-27 20:00:00", "4.2.2"),  # soft, later: ignored
    )
    actual = bounces.transform(hard_bounces_payload(_snapshot(spark), WINDOW))
    assert_df_equality(actual, _payload(spark, ("one@x.com", "2026-11-27 17:30:00")), ignore_nullable=True)


def test_hard_bounces_window_includes_midnight_of_d_and_excludes_midnight_of_d_plus_one(spark) -> None:
    bounces = activities(
        spark,
        _bounce("a1", "1", "2026-11-27 00:00:00"),  # first instant of D
        _bounce("a2", "2", "2026-11-28 00:00:00"),  # D+1 00:00:00: outside
        _bounce("a3", "2", "2026-11-26 23:59:59"),  # before D: outside
    )
    actual = bounces.transform(hard_bounces_payload(_snapshot(spark), WINDOW))
    assert_df_equality(actual, _payload(spark, ("one@x.com", "2026-11-27 00:00:00")), ignore_nullable=True)


def test_hard_bounces_ignore_other_activity_types(spark) -> None:
    bounces = activities(spark, {**_bounce("a1", "1", "2026-11-27 08:00:00"), "ActivityType": "EmailOpen"})
    actual = bounces.transform(hard_bounces_payload(_snapshot(spark), WINDOW))
    assert_df_equality(actual, _payload(spark), ignore_nullable=True)


def test_hard_bounces_match_a_null_contact_id_by_normalised_email(spark) -> None:
    bounces = activities(
        spark,
        _bounce("a1", None, "2026-11-27 09:00:00", EmailAddress="two@x.COM  "),
        _bounce("a2", None, "2026-11-27 10:00:00", EmailAddress="   "),  # blank email matches nobody
        _bounce("a3", None, "2026-11-27 11:00:00", EmailAddress=None),
    )
    snapshot = _snapshot(spark, {"ContactId": "3", "EmailAddress": "  "})
    actual = bounces.transform(hard_bounces_payload(snapshot, WINDOW))
    assert_df_equality(actual, _payload(spark, (" Two@X.com ", "2026-11-27 09:00:00")), ignore_nullable=True)


def test_hard_bounces_do_not_fall_back_to_email_when_the_contact_id_is_unknown(spark) -> None:
    bounces = activities(spark, _bounce("a1", "999", "2026-11-27 09:00:00", EmailAddress="one@x.com"))
    actual = bounces.transform(hard_bounces_payload(_snapshot(spark), WINDOW))
    assert_df_equality(actual, _payload(spark), ignore_nullable=True)


def test_unmatched_hard_bounces_are_the_ones_dropped(spark) -> None:
    rows = [
        _bounce("a1", "1", "2026-11-27 09:00:00"),  # matched by id
        _bounce("a2", "999", "2026-11-27 09:00:00", EmailAddress="one@x.com"),  # unknown id
        _bounce("a3", None, "2026-11-27 09:00:00", EmailAddress="nobody@x.com"),  # unknown email
        _bounce("a4", None, "2026-11-27 09:00:00", EmailAddress=None),  # nothing to match on
        _bounce("a5", "998", "2026-11-27 09:00:00", "4.1.1"),  # soft: ignored, not counted
        _bounce("a6", "997", "2026-11-28 09:00:00"),  # another day: not counted
    ]
    actual = activities(spark, *rows).transform(unmatched_hard_bounces(_snapshot(spark), WINDOW))
    expected = frame(spark, RAW_ACTIVITIES, [rows[1], rows[2], rows[3]])
    assert_df_equality(actual, expected, ignore_row_order=True, ignore_nullable=True)


def test_hard_bounces_are_suppressed_when_the_snapshot_already_has_them(spark) -> None:
    snapshot = contacts(
        spark,
        # already bounced at the same time: suppressed
        {
            "ContactId": "1",
            "EmailAddress": "same@x.com",
            "IsBounced": True,
            "HardBouncedAt": ts("2026-11-27 09:00:00"),
        },
        # already bounced later: suppressed
        {
            "ContactId": "2",
            "EmailAddress": "later@x.com",
            "IsBounced": True,
            "HardBouncedAt": ts("2026-11-27 10:00:00"),
        },
        # bounced earlier: emitted with the new time
        {
            "ContactId": "3",
            "EmailAddress": "earlier@x.com",
            "IsBounced": True,
            "HardBouncedAt": ts("2026-11-20 00:00:00"),
        },
        # same time but IsBounced false: emitted
        {
            "ContactId": "4",
            "EmailAddress": "notflag@x.com",
            "IsBounced": False,
            "HardBouncedAt": ts("2026-11-27 09:00:00"),
        },
        # IsBounced true without a time (null): emitted
        {"ContactId": "5", "EmailAddress": "notime@x.com", "IsBounced": True, "HardBouncedAt": None},
        # IsBounced null: emitted
        {"ContactId": "6", "EmailAddress": "nulls@x.com"},
    )
    bounces = activities(spark, *[_bounce(f"a{n}", str(n), "2026-11-27 09:00:00") for n in range(1, 7)])
    actual = bounces.transform(hard_bounces_payload(snapshot, WINDOW))
    expected = _payload(
        spark,
        ("earlier@x.com", "2026-11-27 09:00:00"),
        ("notflag@x.com", "2026-11-27 09:00:00"),
        ("notime@x.com", "2026-11-27 09:00:00"),
        ("nulls@x.com", "2026-11-27 09:00:00"),
    )
    assert_df_equality(actual, expected, ignore_row_order=True, ignore_nullable=True)


def test_hard_bounces_never_emit_contacts_without_email(spark) -> None:
    snapshot = contacts(
        spark, {"ContactId": "1", "EmailAddress": None}, {"ContactId": "2", "EmailAddress": " "}
    )
    bounces = activities(
        spark, _bounce("a1", "1", "2026-11-27 09:00:00"), _bounce("a2", "2", "2026-11-27 09:00:00")
    )
    actual = bounces.transform(hard_bounces_payload(snapshot, WINDOW))
    assert_df_equality(actual, _payload(spark), ignore_nullable=True)


def test_hard_bounces_of_invalid_or_shared_addresses_are_quarantined_not_loaded(spark) -> None:
    snapshot = _snapshot(
        spark,
        {"ContactId": "3", "EmailAddress": "one@X.com"},  # shares one@x.com with contact 1
        {"ContactId": "4", "EmailAddress": "four@x"},
    )
    bounces = activities(
        spark,
        _bounce("a1", "1", "2026-11-27 09:00:00"),
        _bounce("a2", "2", "2026-11-27 10:00:00"),
        _bounce("a4", "4", "2026-11-27 11:00:00"),
    )
    assert_df_equality(
        bounces.transform(hard_bounces_payload(snapshot, WINDOW)),
        _payload(spark, (" Two@X.com ", "2026-11-27 10:00:00")),
        ignore_nullable=True,
    )
    expected = frame(spark, quarantine_schema("hard_bounces"), [
        {"ContactId": "1", "EmailAddress": "one@x.com", "HardBouncedAt": ts("2026-11-27 09:00:00"),
         "IsBounced": True, "reason": "shared_email_address"},
        {"ContactId": "4", "EmailAddress": "four@x", "HardBouncedAt": ts("2026-11-27 11:00:00"),
         "IsBounced": True, "reason": "invalid_email_address"},
    ])
    assert_df_equality(bounces.transform(hard_bounces_quarantine(snapshot, WINDOW)), expected,
                       ignore_row_order=True, ignore_nullable=True)
