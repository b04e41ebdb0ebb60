"""``contact_washing`` (spec 3.1) on tiny frames with a tiny inline reference; the shipped CSVs are tested in
test_reference_data.py."""

from __future__ import annotations

import pytest
from chispa import assert_df_equality

from spark.schemas import COUNTRIES_REFERENCE, PAYLOAD_SCHEMAS, STATES_REFERENCE
from spark.washing import (
    check_job_level_rules,
    contact_washing_payload,
    contact_washing_quarantine,
    quarantine_schema,
    wash_contacts,
    with_country_iso,
    with_job_level,
    with_normalized_email,
    with_state_code,
)
from tests.spark.builders import contacts, frame

pytestmark = pytest.mark.spark

RULES = [
    (r"\bassistant to\b", "Individual Contributor"),
    (r"\b(ceo|chief)\b", "C-Level"),
    (r"\bvice president\b|\bvp\b", "VP"),
    (r"\bdirector\b", "Director"),
    (r"\bmanager\b", "Manager"),
    (r"\bengineer\b", "Individual Contributor"),
]


@pytest.fixture(scope="module")
def countries(spark):
    rows = [
        ("US", "US"),
        ("USA", "US"),
        ("UNITED STATES", "US"),
        ("CA", "CA"),
        ("CANADA", "CA"),
        ("DE", "DE"),
        ("DEUTSCHLAND", "DE"),
        ("GB", "GB"),
        ("UK", "GB"),
    ]
    return spark.createDataFrame(rows, COUNTRIES_REFERENCE)


@pytest.fixture(scope="module")
def states(spark):
    rows = [
        ("US", "CA", "CA"),
        ("US", "CALIFORNIA", "CA"),
        ("US", "NY", "NY"),
        ("CA", "QC", "QC"),
        ("CA", "QUÉBEC", "QC"),
        ("CA", "ONTARIO", "ON"),
        ("DE", "BAYERN", "BY"),  # only US and CA are looked up, whatever the file holds
    ]
    return spark.createDataFrame(rows, STATES_REFERENCE)


EMAIL_CASES = [
    ("  John.Doe@Example.COM ", "john.doe@example.com", True),  # trimmed and lower-cased
    ("o'brien+tag@sub.example.co.uk", "o'brien+tag@sub.example.co.uk", True),  # ' and + allowed
    ("no-at-sign.example.com", "no-at-sign.example.com", False),
    ("a@b.c", "a@b.c", False),  # TLD of one letter
    ("a b@example.com", "a b@example.com", False),  # inner space
    ("a@example.com\t", "a@example.com\t", False),  # Spark's trim removes spaces only
    ("", "", False),
    (None, None, None),
]


def test_with_normalized_email_lowercases_trims_and_validates(spark) -> None:
    df = spark.createDataFrame([(e,) for e, _, _ in EMAIL_CASES], "EmailAddress string")
    expected = spark.createDataFrame(
        EMAIL_CASES, "EmailAddress string, email_norm string, email_valid boolean"
    )
    assert_df_equality(df.transform(with_normalized_email), expected, ignore_nullable=True)


COUNTRY_CASES = [
    ("US", "US"),
    ("  usa ", "US"),  # trim + upper
    ("United   States", "US"),  # whitespace run collapsed
    ("United\tStates", "US"),  # a tab is whitespace too
    ("deutschland", "DE"),
    ("uk", "GB"),
    ("Narnia", None),  # unknown
    ("", None),
    (None, None),
]


def test_with_country_iso_looks_up_the_normalised_country(spark, countries) -> None:
    df = spark.createDataFrame([(c,) for c, _ in COUNTRY_CASES], "Country string")
    expected = spark.createDataFrame(COUNTRY_CASES, "Country string, country_iso string")
    actual = df.transform(with_country_iso(countries))
    assert_df_equality(actual, expected, ignore_row_order=True, ignore_nullable=True)


STATE_CASES = [
    ("US", " california ", "CA"),
    ("US", "ca", "CA"),
    ("CA", "Québec", "QC"),  # accented alias
    ("CA", "ontario", "ON"),
    ("CA", "California", "California"),  # a US alias does not match in Canada: trim(StateProv)
    ("US", "  Narnia  ", "Narnia"),  # no match: trimmed
    ("DE", " Bayern ", "Bayern"),  # other country: trimmed, no lookup
    ("DE", "CA", "CA"),
    (None, "NY", "NY"),  # unknown country: no lookup
    ("US", None, None),  # null stays null
    ("US", "New  York", "New  York"),  # the state key only trims (no whitespace collapsing)
]


def test_with_state_code_looks_up_us_and_canadian_states_only(spark, states) -> None:
    df = spark.createDataFrame([(c, s) for c, s, _ in STATE_CASES], "country_iso string, StateProv string")
    expected = spark.createDataFrame(STATE_CASES, "country_iso string, StateProv string, state_code string")
    actual = df.transform(with_state_code(states))
    assert_df_equality(actual, expected, ignore_row_order=True, ignore_nullable=True)


TITLE_CASES = [
    ("CEO", "C-Level"),
    ("chief revenue officer", "C-Level"),  # case-insensitive
    ("VP, Product Manager", "VP"),  # VP rule comes before Manager
    ("Senior Vice President", "VP"),
    ("Director of Engineering", "Director"),
    ("Engineering Manager", "Manager"),
    ("Software Engineer", "Individual Contributor"),
    ("Assistant to the CEO", "Individual Contributor"),  # first matching rule wins
    ("Astronaut", "Unknown"),  # no rule matches
    ("", "Unknown"),
    ("   ", "Unknown"),  # blank
    (None, "Unknown"),
]


def test_with_job_level_takes_the_first_matching_rule(spark) -> None:
    df = spark.createDataFrame([(t,) for t, _ in TITLE_CASES], "Title string")
    expected = spark.createDataFrame(TITLE_CASES, "Title string, job_level string")
    assert_df_equality(df.transform(with_job_level(RULES)), expected, ignore_nullable=True)


def test_job_level_rules_must_name_a_known_level_and_compile() -> None:
    with pytest.raises(ValueError, match="rule 1 has level 'Boss'"):
        check_job_level_rules([(r"\bboss\b", "Boss")])
    with pytest.raises(ValueError, match="rule 2 pattern"):
        check_job_level_rules([(r"\bok\b", "VP"), (r"(unclosed", "VP")])


def _contact(**values):
    base = {
        "ContactId": "1",
        "EmailAddress": "a@x.com",
        "Country": "US",
        "StateProv": "CA",
        "Title": "CEO",
        "JobLevel": "C-Level",
    }
    base.update(values)
    return base


def _payload(spark, *rows):
    return frame(spark, PAYLOAD_SCHEMAS["contact_washing"], rows)


def test_contact_washing_emits_the_washed_values_of_changed_contacts(spark, countries, states) -> None:
    snapshot = contacts(
        spark,
        _contact(ContactId="1", EmailAddress="A@x.com ", Country="usa", StateProv=" california"),
        _contact(
            ContactId="2",
            EmailAddress="b@x.com",
            Country="Canada",
            StateProv="Québec",
            Title="VP Sales",
            JobLevel="VP",
        ),
    )
    actual = snapshot.transform(wash_contacts(countries, states, RULES)).transform(contact_washing_payload)
    expected = _payload(
        spark,
        {"EmailAddress": "A@x.com ", "Country": "US", "StateProv": "CA", "JobLevel": "C-Level"},
        {"EmailAddress": "b@x.com", "Country": "CA", "StateProv": "QC", "JobLevel": "VP"},
    )
    assert_df_equality(actual, expected, ignore_row_order=True, ignore_nullable=True)


def test_contact_washing_suppresses_contacts_whose_values_do_not_change(spark, countries, states) -> None:
    snapshot = contacts(
        spark,
        _contact(ContactId="1"),  # already clean
        _contact(
            ContactId="2",
            EmailAddress="b@x.com",
            Country="Narnia",
            StateProv=None,
            Title=None,
            JobLevel="Unknown",
        ),  # unknown country kept as is, null state stays null: nothing changes
    )
    actual = snapshot.transform(wash_contacts(countries, states, RULES)).transform(contact_washing_payload)
    assert_df_equality(actual, _payload(spark), ignore_nullable=True)


CHANGED_FIELD_CASES = [
    ("JobLevel", None),  # a null current value vs a computed one is a change (null-safe comparison)
    ("JobLevel", "VP"),
    ("StateProv", "CA "),  # the trimmed value differs
    ("StateProv", "california"),
    ("Country", "USA"),
    (
        "Country",
        None,
    ),  # not a change: a null Country has no alias and stays null (the last row is not emitted)
]


def test_contact_washing_emits_when_any_one_field_changes(spark, countries, states) -> None:
    snapshot = contacts(
        spark,
        *[
            _contact(ContactId=str(n), EmailAddress=f"{n}@x.com", **{field: current})
            for n, (field, current) in enumerate(CHANGED_FIELD_CASES)
        ],
    )
    actual = snapshot.transform(wash_contacts(countries, states, RULES)).transform(contact_washing_payload)
    expected = _payload(
        spark,
        *[
            {"EmailAddress": f"{n}@x.com", "Country": "US", "StateProv": "CA", "JobLevel": "C-Level"}
            for n in range(5)
        ],
    )
    assert_df_equality(actual, expected, ignore_row_order=True, ignore_nullable=True)


def test_contact_washing_never_emits_contacts_without_email(spark, countries, states) -> None:
    snapshot = contacts(
        spark,
        _contact(ContactId="1", EmailAddress=None, Country="usa"),
        _contact(ContactId="2", EmailAddress="   ", Country="usa"),
        _contact(ContactId="3", EmailAddress="", Country="usa"),
    )
    actual = snapshot.transform(wash_contacts(countries, states, RULES)).transform(contact_washing_payload)
    assert_df_equality(actual, _payload(spark), ignore_nullable=True)


def test_contact_washing_keeps_an_unmatched_country_and_trims_its_state(spark, countries, states) -> None:
    snapshot = contacts(spark, _contact(Country="Narnia", StateProv="  Cair Paravel "))
    actual = snapshot.transform(wash_contacts(countries, states, RULES)).transform(contact_washing_payload)
    expected = _payload(
        spark,
        {"EmailAddress": "a@x.com", "Country": "Narnia", "StateProv": "Cair Paravel", "JobLevel": "C-Level"},
    )
    assert_df_equality(actual, expected, ignore_nullable=True)


def test_wash_contacts_adds_columns_without_changing_the_row_count(spark, countries, states) -> None:
    snapshot = contacts(spark, _contact(ContactId="1"), _contact(ContactId="2", Country=None))
    washed = snapshot.transform(wash_contacts(countries, states, RULES))
    assert washed.columns[-5:] == ["email_norm", "email_valid", "country_iso", "state_code", "job_level"]
    actual = washed.select("ContactId", "country_iso", "state_code", "job_level")
    expected = spark.createDataFrame(
        [("1", "US", "CA", "C-Level"), ("2", None, "CA", "C-Level")],
        "ContactId string, country_iso string, state_code string, job_level string",
    )
    assert_df_equality(actual, expected, ignore_row_order=True, ignore_nullable=True)


def test_contact_washing_quarantines_invalid_and_shared_addresses(spark, countries, states) -> None:
    # every contact below changes (Country "usa" washes to US); only "ok" may be loaded
    snapshot = contacts(
        spark,
        _contact(ContactId="1", EmailAddress="ok@x.com", Country="usa"),
        _contact(ContactId="2", EmailAddress="no-at-sign.x.com", Country="usa"),
        _contact(ContactId="3", EmailAddress="Shared@x.com", Country="usa"),
        _contact(ContactId="4", EmailAddress=" shared@X.COM", Country="usa"),  # the same address after lower/trim
        _contact(ContactId="5", EmailAddress="twin@x.com", Country="usa"),
        _contact(ContactId="6", EmailAddress="TWIN@x.com"),  # unchanged, not emitted, still shares the address
        _contact(ContactId="7", EmailAddress="bad@x", Country="usa"),
        _contact(ContactId="8", EmailAddress="bad@x", Country="usa"),  # invalid and shared: invalid wins
        _contact(ContactId="9", EmailAddress="a\tb@x.com", Country="usa"),  # a tab is not trimmed: invalid
    )
    washed = snapshot.transform(wash_contacts(countries, states, RULES))
    clean = {"Country": "US", "StateProv": "CA", "JobLevel": "C-Level"}

    assert_df_equality(
        contact_washing_payload(washed), _payload(spark, {"EmailAddress": "ok@x.com", **clean}), ignore_nullable=True
    )
    held = [
        ("2", "no-at-sign.x.com", "invalid_email_address"),
        ("3", "Shared@x.com", "shared_email_address"),
        ("4", " shared@X.COM", "shared_email_address"),
        ("5", "twin@x.com", "shared_email_address"),
        ("7", "bad@x", "invalid_email_address"),
        ("8", "bad@x", "invalid_email_address"),
        ("9", "a\tb@x.com", "invalid_email_address"),
    ]
    expected = frame(spark, quarantine_schema("contact_washing"),
                     [{"ContactId": c, "EmailAddress": e, **clean, "reason": r} for c, e, r in held])
    assert_df_equality(contact_washing_quarantine(washed), expected, ignore_row_order=True, ignore_nullable=True)
