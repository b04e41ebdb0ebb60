"""Synthetic data: deterministic, and dirty in exactly the ways the pipelines must cope with."""

from __future__ import annotations

import re
from collections import Counter
from datetime import date, datetime, timedelta

from scc_sandbox import synth
from scc_sandbox.catalog import (
    ACTIVITY_ENTITY,
    ACTIVITY_TYPES,
    CAMPAIGN_RESPONSES_CDO,
    CONTACT_ENTITY,
    CUSTOM_OBJECTS,
    cdo_key,
    contract_statements,
)

from contract.objects import ACTIVITIES, CAMPAIGN_RESPONSES, CONTACTS, PIPELINE_ACTIVITY_TYPES, SFDC_CAMPAIGNS

AS_OF = date(2026, 11, 27)
N = 400
CONTACT_ROWS = list(synth.contacts(7, AS_OF, N))
VALID = re.compile(r"^[a-z0-9._%+'-]+@[a-z0-9-]+(\.[a-z0-9-]+)*\.[a-z]{2,}$")


def test_every_contract_statement_resolves_in_the_catalog() -> None:
    for statement in contract_statements(CONTACTS):
        assert CONTACT_ENTITY.resolve(statement) is not None, statement
    for statement in contract_statements(ACTIVITIES):
        assert ACTIVITY_ENTITY.resolve(statement) is not None, statement
    for obj in (CAMPAIGN_RESPONSES, SFDC_CAMPAIGNS):
        cdo = next(c for c in CUSTOM_OBJECTS.values() if c.name == obj.custom_object_name)
        assert [f.name for f in cdo.entity.listed_fields()] == [c.cdo_field for c in obj.columns]


def test_statements_resolve_case_and_space_insensitively() -> None:
    assert CONTACT_ENTITY.resolve(" {{contact.FIELD( c_emailaddress )}}").key == "c_emailaddress"
    assert CONTACT_ENTITY.resolve("{{Contact.CreatedAt}}") is CONTACT_ENTITY.resolve(
        "{{Contact.Field(C_DateCreated)}}"
    )
    assert CONTACT_ENTITY.resolve("{{Contact.Field(C_Nope)}}") is None


def test_same_seed_and_as_of_give_the_same_data_and_another_seed_does_not() -> None:
    assert list(synth.contacts(7, AS_OF, 50)) == CONTACT_ROWS[:50]
    assert list(synth.contacts(8, AS_OF, 50)) != CONTACT_ROWS[:50]
    day = AS_OF - timedelta(days=3)
    assert synth.activities(7, AS_OF, N, "EmailOpen", day) == synth.activities(7, AS_OF, N, "EmailOpen", day)
    assert list(synth.campaign_responses(7, AS_OF, N)) == list(synth.campaign_responses(7, AS_OF, N))


def test_contact_emails_are_dirty_in_every_expected_way() -> None:
    emails = [r["c_emailaddress"] for r in CONTACT_ROWS]
    assert any(e is None or not e.strip() for e in emails)  # blank
    assert any(e and e != e.strip() for e in emails)  # padded
    assert any(e and e.strip() != e.strip().lower() for e in emails)  # mixed case
    assert any(e and e.strip() and not VALID.match(e.strip().lower()) for e in emails)  # invalid
    normalized = Counter(e.strip().lower() for e in emails if e and e.strip())
    duplicates = [e for e, n in normalized.items() if n > 1]
    assert duplicates
    # duplicates differ as raw strings, so an identifier-unique payload is still possible
    raw = Counter(e for e in emails if e)
    assert all(n == 1 for e, n in raw.items() if e.strip())


def test_countries_states_and_titles_cover_the_washing_rules() -> None:
    us = {
        r["c_country"]
        for r in CONTACT_ROWS
        if r["c_country"]
        and r["c_country"].strip().upper().replace(".", "").replace(" ", "")
        in {"US", "USA", "UNITEDSTATES", "UNITEDSTATESOFAMERICA"}
    }
    assert len(us) >= 6
    assert len({r["c_country"] for r in CONTACT_ROWS}) >= 30
    states = {r["c_state_prov"] for r in CONTACT_ROWS if r["c_state_prov"]}
    assert "California" in states or "New York" in states
    assert any(s.strip().upper() in {"CA", "NY", "TX", "MA", "ON", "QC"} for s in states)
    titles = {r["c_title"] for r in CONTACT_ROWS}
    for needle in ("Chief", "VP", "Director", "Manager", "Engineer"):
        assert any(t and needle.lower() in t.lower() for t in titles), needle
    assert None in titles


def test_updated_at_is_spread_so_incremental_windows_are_non_trivial() -> None:
    end = datetime(2026, 11, 27)
    for r in CONTACT_ROWS:
        assert r["created_at"] <= r["updated_at"] < "2026-11-27"
    days = Counter(r["updated_at"][:10] for r in CONTACT_ROWS)
    for back in range(1, 31):
        assert days[(end - timedelta(days=back)).strftime("%Y-%m-%d")] > 0, back
    assert sum(n for d, n in days.items() if d < "2026-10-28") > N / 2


def test_activity_volumes_follow_the_marketing_funnel() -> None:
    days = synth.data_days(AS_OF)
    assert days[0] == AS_OF - timedelta(days=120) and days[-1] == AS_OF - timedelta(days=1)
    totals = {t: sum(len(synth.activities(7, AS_OF, N, t, d)) for d in days[-14:]) for t in ACTIVITY_TYPES}
    assert totals["EmailSend"] > 2 * totals["EmailOpen"] > 0
    assert totals["EmailOpen"] > totals["EmailClickthrough"] > totals["FormSubmit"] > 0
    assert synth.activities(7, AS_OF, N, "EmailSend", AS_OF) == []  # no data on or after as-of


def test_bouncebacks_have_hard_and_soft_smtp_codes_and_null_contacts_matching_by_email() -> None:
    rows = [r for d in synth.data_days(AS_OF)[-20:] for r in synth.activities(7, AS_OF, N, "Bounceback", d)]
    hard = [
        r
        for r in rows
        if (r["smtp_error_code"] or "").startswith("5") or (r["smtp_status_code"] or "").startswith("5")
    ]
    soft = [r for r in rows if r not in hard]
    assert hard and soft
    assert {r["smtp_status_code"] for r in soft} <= {"421", "450", "451", "452", None}
    assert all(re.fullmatch(r"[45]\.\d\.\d+", r["smtp_error_code"]) for r in rows if r["smtp_error_code"])
    emails = {r["c_emailaddress"].strip().lower() for r in CONTACT_ROWS if r["c_emailaddress"]}
    orphans = [r for r in rows if r["contact_id"] is None]
    assert any(r["email_address"] in emails for r in orphans)
    assert any(r["email_address"] not in emails for r in orphans)
    for r in rows:
        assert r["created_at"][:10] == r["created_at"][:10]
    others = synth.activities(7, AS_OF, N, "EmailOpen", AS_OF - timedelta(days=1))
    assert all(r["smtp_error_code"] is None for r in others)


def test_activity_ids_are_unique_across_types_and_days() -> None:
    ids = [
        r["id"]
        for t in PIPELINE_ACTIVITY_TYPES
        for d in synth.data_days(AS_OF)[-5:]
        for r in synth.activities(7, AS_OF, N, t, d)
    ]
    assert len(ids) == len(set(ids))


def test_campaign_responses_have_dirty_statuses_and_a_few_unknown_campaigns() -> None:
    rows = list(synth.campaign_responses(7, AS_OF, N))
    status = cdo_key(CAMPAIGN_RESPONSES_CDO, "ResponseStatus")
    statuses = {r[status] for r in rows}
    for s in ("Responded", " responded ", "No-Show", "no_show", "NoShow", "Attended", "REGISTERED", "", None):
        assert s in statuses, s
    known = {r[cdo_key(CUSTOM_OBJECTS[42], "CampaignId")] for r in synth.sfdc_campaigns(7, AS_OF, N)}
    campaign = cdo_key(CAMPAIGN_RESPONSES_CDO, "CampaignId")
    unknown = [r for r in rows if r[campaign] not in known]
    assert 0 < len(unknown) < 0.05 * len(rows)
    responded = cdo_key(CAMPAIGN_RESPONSES_CDO, "RespondedAt")
    per_day = Counter(r[responded][:10] for r in rows)
    unknown_per_day = Counter(r[responded][:10] for r in unknown)
    assert all(n <= 0.05 * per_day[d] for d, n in unknown_per_day.items())  # the quarantine gate can pass
    ids = [r[cdo_key(CAMPAIGN_RESPONSES_CDO, "ResponseId")] for r in rows]
    assert len(ids) == len(set(ids))


def test_every_day_has_a_hard_orphan_bounce_and_soft_and_hard_bounces_with_contacts() -> None:
    emails = {r["c_emailaddress"].strip().lower() for r in CONTACT_ROWS if r["c_emailaddress"]}
    for day in synth.data_days(AS_OF):
        rows = synth.activities(7, AS_OF, N, "Bounceback", day)
        first, second, third = rows[0], rows[1], rows[2]
        assert first["contact_id"] is None and first["email_address"] in emails
        assert first["smtp_error_code"].startswith("5") and first["smtp_status_code"].startswith("5")
        assert second["contact_id"] and second["smtp_status_code"].startswith("4")
        assert third["contact_id"] and third["smtp_status_code"].startswith("5")
