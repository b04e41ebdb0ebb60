"""An independent, pure-Python recomputation of docs/data-contract.md sections 2 and 3 from a lake's raw zone.

Written from the spec text alone (no code of ``spark/`` or ``jobs/``): column names come from
``contract.objects``, paths from ``lake.paths``, reference data from ``conf/reference/*.csv`` and settings from
``conf/pipelines.toml``. Rows are plain dicts of Python values (``str``, ``int``, ``bool``, tz-aware ``datetime``,
``None``), so every rule below reads like the spec sentence it implements.

``recompute_day(lake, day)`` returns the expected rows of ``staged/contacts``, the four ``import_ready`` payloads
and ``quarantine/campaign_responses`` for one data day; ``read_written(lake, day)`` reads what the jobs wrote;
``diff_rows`` compares two row sets (order ignored) and explains the first differences.

Where the spec is silent, the choice is written next to the rule ("silent:"); each one was made before reading
docs/business-rules.md and then aligned with it where it differed (so this check tests the spec and the documented
choices, and nothing else). Where the spec *is* exact, this module follows its letter, even where the docs went
further (``status_normalized``).
"""

from __future__ import annotations

import csv
import datetime as dt
import json
import re
import tomllib
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pyarrow.dataset as ds

from contract.objects import (
    CAMPAIGN_RESPONSES,
    CONTACTS,
    PAYLOADS,
    SFDC_CAMPAIGNS,
)
from lake.paths import LakeLayout, local_path
from lake.paths import day as day_str

REPO = Path(__file__).resolve().parents[2]
Row = dict[str, Any]

STAGED = "staged/contacts"
QUARANTINE = "quarantine/campaign_responses"
QUARANTINE_REASON = "reason"
# The quarantined row is the Campaign Responses row as exported, plus why it was held back.
QUARANTINE_COLUMNS = (*CAMPAIGN_RESPONSES.column_names, QUARANTINE_REASON)
# silent: the reason texts are the ones docs/business-rules.md names.
REASON_NULL_CAMPAIGN = "CampaignId is null"
REASON_UNKNOWN_CAMPAIGN = "CampaignId matches no Salesforce campaign"
# Contact payloads: rows held back because Eloqua matches contacts on the address (docs/business-rules.md).
CONTACT_PIPELINES = ("contact_washing", "hard_bounces", "lead_scoring")
CONTACT_QUARANTINES = tuple(f"quarantine/{p}" for p in CONTACT_PIPELINES)
REASON_INVALID_EMAIL = "invalid_email_address"
REASON_SHARED_EMAIL = "shared_email_address"
# Java's \s (Spark regexes): ASCII whitespace only, unlike Python's Unicode-aware \s.
JAVA_WHITESPACE_RUN = re.compile(r"[ \t\n\x0b\f\r]+")

VALID_EMAIL = re.compile(r"^[a-z0-9._%+'-]+@[a-z0-9-]+(\.[a-z0-9-]+)*\.[a-z]{2,}$")
JOB_LEVEL_POINTS = {"C-Level": 40, "VP": 35, "Director": 30, "Manager": 20, "Individual Contributor": 10,
                    "Unknown": 0}
ENGAGEMENT_RULES = (("EmailOpen", 1, 10), ("EmailClickthrough", 3, 30), ("FormSubmit", 10, 40),
                    ("WebVisit", 2, 20))
STATUS_MAP = {"responded": "Responded", "attended": "Attended", "registered": "Registered",
              "no show": "No Show", "noshow": "No Show"}


# ---------------------------------------------------------------- settings and reference data

@dataclass(frozen=True)
class Settings:
    """``[lead_scoring]`` of conf/pipelines.toml (spec defaults when a key is absent)."""

    target_countries: frozenset[str]
    target_industries: frozenset[str]
    lookback_days: int = 90


def load_settings(path: Path = REPO / "conf" / "pipelines.toml") -> Settings:
    """silent: codes are compared upper-case and trimmed, industries lower-case and trimmed."""
    section = tomllib.loads(path.read_text()).get("lead_scoring", {}) if path.exists() else {}
    countries = section.get("target_countries", ["US", "CA", "GB", "DE", "FR", "JP", "AU"])
    industries = section.get(
        "target_industries", ["technology", "financial services", "healthcare", "government", "telecommunications"]
    )
    return Settings(
        target_countries=frozenset(c.strip(" ").upper() for c in countries),
        target_industries=frozenset(i.strip(" ").lower() for i in industries),
        lookback_days=int(section.get("lookback_days", 90)),
    )


@dataclass(frozen=True)
class Reference:
    """conf/reference: country aliases -> ISO-2, (ISO-2, state alias) -> code, ordered job-level rules."""

    countries: dict[str, str]
    states: dict[tuple[str, str], str]
    job_levels: tuple[tuple[re.Pattern[str], str], ...]


def _csv_rows(path: Path) -> list[dict[str, str]]:
    with path.open(newline="", encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def load_reference(folder: Path = REPO / "conf" / "reference") -> Reference:
    """Read the three CSVs; an alias mapped to two different values is an error in the reference data."""
    countries: dict[str, str] = {}
    for row in _csv_rows(folder / "countries.csv"):
        if countries.setdefault(row["alias"], row["iso2"]) != row["iso2"]:
            raise ValueError(f"countries.csv maps {row['alias']!r} to two codes: fix the reference data")
    states: dict[tuple[str, str], str] = {}
    for row in _csv_rows(folder / "states.csv"):
        key = (row["country_iso"], row["alias"])
        if states.setdefault(key, row["code"]) != row["code"]:
            raise ValueError(f"states.csv maps {key!r} to two codes: fix the reference data")
    rules = tuple((re.compile(r["pattern"], re.IGNORECASE), r["level"]) for r in _csv_rows(folder / "job_levels.csv"))
    return Reference(countries, states, rules)


# ---------------------------------------------------------------- SQL-like helpers

def trim(value: str | None) -> str | None:
    """SQL ``trim``: strips spaces only (null stays null)."""
    return None if value is None else value.strip(" ")


def lower_trim(value: str | None) -> str | None:
    return None if value is None else value.strip(" ").lower()


def is_blank(value: str | None) -> bool:
    return value is None or value.strip(" ") == ""


def distinct(a: Any, b: Any) -> bool:
    """Null-safe inequality (SQL ``a IS DISTINCT FROM b``)."""
    return a != b


def window(day: dt.date | str, days: int = 1) -> tuple[dt.datetime, dt.datetime]:
    """``[D-(days-1) 00:00, D+1 00:00)`` UTC."""
    d = dt.date.fromisoformat(day_str(day))
    start = dt.datetime.combine(d - dt.timedelta(days=days - 1), dt.time(), dt.UTC)
    return start, dt.datetime.combine(d + dt.timedelta(days=1), dt.time(), dt.UTC)


def _nulls_last(value: Any) -> tuple[bool, Any]:
    """Sort key: ascending, nulls last."""
    return (value is None, value)


def in_window(ts: dt.datetime | None, bounds: tuple[dt.datetime, dt.datetime]) -> bool:
    return ts is not None and bounds[0] <= ts < bounds[1]


# ---------------------------------------------------------------- reading the lake

def read_rows(url: str, columns: Sequence[str] | None = None, partitioning: Any = None) -> list[Row]:
    """All rows of a Parquet dataset folder (hidden ``_``/``.`` files skipped) as dicts."""
    path = local_path(url)
    if not Path(path).is_dir():
        raise FileNotFoundError(f"dataset {url} does not exist: run the pipeline for that day first")
    table = ds.dataset(path, format="parquet", partitioning=partitioning).to_table()
    if columns is not None:
        missing = [c for c in columns if c not in table.column_names]
        if missing:
            raise AssertionError(f"{url} lacks columns {missing}; it has {table.column_names}")
        table = table.select(list(columns))
    return table.to_pylist()


def _run_dates(root_url: str) -> list[str]:
    root = Path(local_path(root_url))
    if not root.is_dir():
        return []
    return sorted(p.name.split("=", 1)[1] for p in root.iterdir()
                  if p.is_dir() and p.name.startswith("run_date=") and (p / "_SUCCESS").exists())


# ---------------------------------------------------------------- section 2: the contacts snapshot

def contacts_snapshot(lake: LakeLayout, day: dt.date | str) -> list[Row]:
    """Per ContactId, the latest row by UpdatedAt among all exported contacts with ``UpdatedAt < D+1``.

    The exports used are the latest full export on or before D and every later export up to D (a full refresh
    restarts the chain). silent: rows with a null ContactId or UpdatedAt are dropped; on an UpdatedAt tie the
    row of the later export wins, then the first when ordering by every other column (nulls last).
    """
    d = day_str(day)
    dates = [x for x in _run_dates(lake.raw_contacts_root()) if x <= d]
    modes = {x: json.loads(Path(local_path(lake.raw_contacts(x)), "_export.json").read_text())["mode"]
             for x in dates}
    fulls = [x for x in dates if modes[x] == "full"]
    if not fulls:
        raise AssertionError(f"no full contacts export on or before {d} in {lake.raw_contacts_root()}")
    until = window(d)[1]
    candidates: dict[str, list[tuple[str, Row]]] = defaultdict(list)
    for export_date in (x for x in dates if x >= fulls[-1]):
        for row in read_rows(lake.raw_contacts(export_date), CONTACTS.column_names):
            if row["ContactId"] is not None and row["UpdatedAt"] is not None and row["UpdatedAt"] < until:
                candidates[row["ContactId"]].append((export_date, row))
    others = [c for c in CONTACTS.column_names if c not in ("ContactId", "UpdatedAt")]
    snapshot = []
    for rows in candidates.values():
        newest = max((r["UpdatedAt"], x) for x, r in rows)
        tied = [r for x, r in rows if (r["UpdatedAt"], x) == newest]
        snapshot.append(min(tied, key=lambda r: tuple(_nulls_last(r[c]) for c in others)))
    return snapshot


# ---------------------------------------------------------------- 3.1 contact_washing

@dataclass(frozen=True)
class Washed:
    country_iso: str | None
    state_code: str | None
    job_level: str
    email_valid: bool


def country_iso(country: str | None, ref: Reference) -> str | None:
    """silent: the spec does not say which characters ``trim`` removes; whitespace runs (tabs included) are
    collapsed first and the key trimmed after, so a tab at either end does not prevent a match."""
    if country is None:
        return None
    return ref.countries.get(JAVA_WHITESPACE_RUN.sub(" ", country.upper()).strip(" "))


def state_code(state: str | None, iso: str | None, ref: Reference) -> str | None:
    if iso in ("US", "CA") and state is not None:
        code = ref.states.get((iso, state.strip(" ").upper()))
        if code is not None:
            return code
    return trim(state)


def job_level(title: str | None, ref: Reference) -> str:
    if is_blank(title):
        return "Unknown"
    for pattern, level in ref.job_levels:
        if pattern.search(title):  # type: ignore[arg-type]
            return level
    return "Unknown"


def wash(contact: Row, ref: Reference) -> Washed:
    iso = country_iso(contact["Country"], ref)
    email = lower_trim(contact["EmailAddress"])
    return Washed(iso, state_code(contact["StateProv"], iso, ref), job_level(contact["Title"], ref),
                  email is not None and VALID_EMAIL.match(email) is not None)


def hold_back(rows: Iterable[tuple[Row, Row]], snapshot: Iterable[Row]) -> tuple[list[Row], list[Row]]:
    """Splits ``(contact, payload row)`` pairs into (loaded rows, quarantined rows).

    A row is held back when its contact's ``lower(trim(EmailAddress))`` is not a valid address
    (``invalid_email_address``, checked first) or is the address of more than one snapshot contact
    (``shared_email_address``). Quarantined rows are ``ContactId``, the payload row and ``reason``.
    """
    owners = Counter(lower_trim(c["EmailAddress"]) for c in snapshot if not is_blank(c["EmailAddress"]))
    loaded, held = [], []
    for contact, row in rows:
        email = lower_trim(contact["EmailAddress"])
        if email is None or VALID_EMAIL.match(email) is None:
            reason = REASON_INVALID_EMAIL
        elif owners[email] > 1:
            reason = REASON_SHARED_EMAIL
        else:
            loaded.append(row)
            continue
        held.append({"ContactId": contact["ContactId"], **row, QUARANTINE_REASON: reason})
    return loaded, held


def contact_washing(snapshot: Sequence[Row], ref: Reference) -> tuple[list[Row], list[Row]]:
    """(payload, quarantine) of contacts whose Country/StateProv/JobLevel change; null/blank emails never
    emitted, invalid or shared ones held back (:func:`hold_back`)."""
    out = []
    for c in snapshot:
        if is_blank(c["EmailAddress"]):
            continue
        w = wash(c, ref)
        row = {"EmailAddress": c["EmailAddress"], "Country": w.country_iso or c["Country"],
               "StateProv": w.state_code, "JobLevel": w.job_level}
        if any(distinct(row[k], c[k]) for k in ("Country", "StateProv", "JobLevel")):
            out.append((c, row))
    return hold_back(out, snapshot)


# ---------------------------------------------------------------- 3.2 hard_bounces

def is_hard(activity: Row) -> bool:
    return any((activity[k] or "").startswith("5") for k in ("SmtpErrorCode", "SmtpStatusCode"))


def hard_bounces(bouncebacks: Iterable[Row], snapshot: Sequence[Row]) -> tuple[list[Row], list[Row], int]:
    """Payload rows, quarantined rows (:func:`hold_back`) and the count of hard bounces that matched no contact.

    silent: a null-ContactId bounce whose email matches several contacts belongs to each of them; the
    activity's email is normalised with ``lower(trim())`` like the contact's; a ContactId absent from the
    snapshot is unmatched (no email fallback); contacts with a blank EmailAddress (the import identifier) are
    never emitted, as in 3.1 and 3.3.
    """
    by_id = {c["ContactId"]: c for c in snapshot}
    by_email: dict[str, list[Row]] = defaultdict(list)
    for c in snapshot:
        if not is_blank(c["EmailAddress"]):
            by_email[lower_trim(c["EmailAddress"])].append(c)  # type: ignore[index]
    latest: dict[str, dt.datetime] = {}
    unmatched = 0
    for a in bouncebacks:
        if not is_hard(a):
            continue
        if a["ContactId"] is not None:
            owners = [by_id[a["ContactId"]]] if a["ContactId"] in by_id else []
        else:
            owners = by_email.get(lower_trim(a["EmailAddress"]) or "", []) if not is_blank(a["EmailAddress"]) else []
        if not owners:
            unmatched += 1
        for c in owners:
            if c["ContactId"] not in latest or a["ActivityDate"] > latest[c["ContactId"]]:
                latest[c["ContactId"]] = a["ActivityDate"]
    out = []
    for cid, when in latest.items():
        c = by_id[cid]
        if is_blank(c["EmailAddress"]):
            continue
        if c["IsBounced"] is True and c["HardBouncedAt"] is not None and c["HardBouncedAt"] >= when:
            continue
        out.append((c, {"EmailAddress": c["EmailAddress"], "HardBouncedAt": when, "IsBounced": True}))
    loaded, held = hold_back(out, snapshot)
    return loaded, held, unmatched


# ---------------------------------------------------------------- 3.3 lead_scoring

def engagement_counts(activities: Iterable[Row]) -> dict[str, Counter[str]]:
    """Per ContactId, activities per type; deduplicated on ActivityId, then null ContactIds ignored.

    silent: of rows sharing an ActivityId, the first by (ActivityType, ActivityDate, ContactId nulls last) is kept.
    """
    kept: dict[str, Row] = {}
    for a in activities:
        other = kept.get(a["ActivityId"])
        rank = (a["ActivityType"], a["ActivityDate"], _nulls_last(a["ContactId"]))
        if other is None or rank < (other["ActivityType"], other["ActivityDate"], _nulls_last(other["ContactId"])):
            kept[a["ActivityId"]] = a
    counts: dict[str, Counter[str]] = defaultdict(Counter)
    for a in kept.values():
        if a["ContactId"] is not None:
            counts[a["ContactId"]][a["ActivityType"]] += 1
    return counts


def score(contact: Row, washed: Washed, counts: Counter[str], settings: Settings) -> Row:
    profile = JOB_LEVEL_POINTS[washed.job_level]
    profile += 30 if washed.country_iso in settings.target_countries else 0
    profile += 30 if lower_trim(contact["Industry"]) in settings.target_industries else 0
    engagement = sum(min(cap, per * counts.get(kind, 0)) for kind, per, cap in ENGAGEMENT_RULES)
    letter = "A" if profile >= 80 else "B" if profile >= 60 else "C" if profile >= 30 else "D"
    digit = "1" if engagement >= 60 else "2" if engagement >= 30 else "3" if engagement >= 10 else "4"
    return {"EmailAddress": contact["EmailAddress"], "LeadRating": letter + digit, "ProfileScore": profile,
            "EngagementScore": engagement}


def lead_scores(snapshot: Iterable[Row], ref: Reference, activities: Iterable[Row],
                settings: Settings) -> dict[str, Row]:
    """Every snapshot contact's computed score row, by ContactId (unchanged ones and blank emails included)."""
    counts = engagement_counts(activities)
    return {c["ContactId"]: score(c, wash(c, ref), counts.get(c["ContactId"], Counter()), settings)
            for c in snapshot}


def lead_scoring(snapshot: Sequence[Row], scores: dict[str, Row]) -> tuple[list[Row], list[Row]]:
    """(payload, quarantine): contacts whose rating or scores change, invalid or shared addresses held back."""
    cols = ("LeadRating", "ProfileScore", "EngagementScore")
    changed = [(c, scores[c["ContactId"]]) for c in snapshot
               if not is_blank(c["EmailAddress"]) and any(distinct(scores[c["ContactId"]][k], c[k]) for k in cols)]
    return hold_back(changed, snapshot)


# ---------------------------------------------------------------- 3.4 campaign_responses

def status_normalized(status: str | None) -> str:
    """The spec's letter: fold, then map; a fold that leaves an edge space (``"Registered-"``) is ``Other``."""
    if status is None:
        return "Other"
    folded = re.sub(r"[-_ ]+", " ", status.strip(" ").lower())
    return STATUS_MAP.get(folded, "Other")


def campaign_responses(responses: Iterable[Row], campaigns: Iterable[Row], snapshot: Sequence[Row],
                       scores: dict[str, Row]) -> tuple[list[Row], list[Row]]:
    """(payload rows, quarantined rows) for the day's responses.

    silent: when several contacts share ``lower(trim(email))`` the most recently updated one (then the highest
    ContactId string) gives LeadRatingAtResponse; blank emails match nothing. Responses are deduplicated on
    ResponseId (latest RespondedAt wins, null ids dropped). The change filter of section 3 applies against the
    row's current CDO values. Quarantined rows are the exported rows plus ``reason``.
    """
    latest: dict[str, Row] = {}
    for r in responses:
        if r["ResponseId"] is None:
            continue
        other = latest.get(r["ResponseId"])
        if other is None or r["RespondedAt"] > other["RespondedAt"]:
            latest[r["ResponseId"]] = r
    by_campaign = {c["CampaignId"]: c for c in campaigns}
    owner: dict[str, Row] = {}
    for c in snapshot:
        key = lower_trim(c["EmailAddress"])
        if is_blank(key):
            continue
        kept = owner.get(key)  # type: ignore[arg-type]
        if kept is None or (c["UpdatedAt"], c["ContactId"]) > (kept["UpdatedAt"], kept["ContactId"]):
            owner[key] = c  # type: ignore[index]
    payload, quarantine = [], []
    for r in latest.values():
        campaign = by_campaign.get(r["CampaignId"]) if r["CampaignId"] is not None else None
        if campaign is None:
            reason = REASON_NULL_CAMPAIGN if r["CampaignId"] is None else REASON_UNKNOWN_CAMPAIGN
            quarantine.append({**r, QUARANTINE_REASON: reason})
            continue
        key = lower_trim(r["ContactEmail"])
        contact = owner.get(key) if not is_blank(key) else None  # type: ignore[arg-type]
        row = {"ResponseId": r["ResponseId"], "CampaignName": campaign["CampaignName"],
               "CampaignType": campaign["CampaignType"],
               "LeadRatingAtResponse": scores[contact["ContactId"]]["LeadRating"] if contact else None,
               "StatusNormalized": status_normalized(r["ResponseStatus"])}
        if any(distinct(row[k], r[k]) for k in PAYLOADS["campaign_responses"].column_names[1:]):
            payload.append(row)
    return payload, quarantine


# ---------------------------------------------------------------- one day, end to end

def _activities(lake: LakeLayout, bounds: tuple[dt.datetime, dt.datetime], types: Sequence[str]) -> list[Row]:
    """Activities of ``types`` with ActivityDate in ``bounds``, read from every raw partition of those types.

    Also checks the raw zone's own contract: each row sits in the partition of its type and CreatedAt day.
    """
    root = Path(local_path(lake.raw_activities_root()))
    out = []
    for kind in types:
        for folder in sorted((root / f"activity_type={kind}").glob("activity_date=*")):
            if not (folder / "_SUCCESS").exists():
                continue
            label = folder.name.split("=", 1)[1]
            for a in read_rows("file://" + str(folder)):
                if a["ActivityType"] != kind or a["ActivityDate"].date().isoformat() != label:
                    raise AssertionError(f"raw activity {a['ActivityId']} ({a['ActivityType']}, "
                                         f"{a['ActivityDate']}) is in partition {folder}")
                if in_window(a["ActivityDate"], bounds):
                    out.append(a)
    return out


def recompute_day(lake: LakeLayout, day: dt.date | str, ref: Reference | None = None,
                  settings: Settings | None = None) -> dict[str, list[Row]]:
    """Expected rows for D: keys ``staged/contacts``, each pipeline, and each pipeline's ``quarantine/``."""
    ref = ref or load_reference()
    settings = settings or load_settings()
    snapshot = contacts_snapshot(lake, day)
    lookback = _activities(lake, window(day, settings.lookback_days),
                           ("EmailOpen", "EmailClickthrough", "FormSubmit", "WebVisit"))
    scores = lead_scores(snapshot, ref, lookback, settings)
    bounces, bounces_held, _ = hard_bounces(_activities(lake, window(day), ("Bounceback",)), snapshot)
    washing, washing_held = contact_washing(snapshot, ref)
    scoring, scoring_held = lead_scoring(snapshot, scores)
    responses = [r for r in read_rows(lake.raw_custom_object("campaign_responses", day),
                                      CAMPAIGN_RESPONSES.column_names)
                 if in_window(r["RespondedAt"], window(day))]
    campaigns = read_rows(lake.raw_custom_object("sfdc_campaigns", day), SFDC_CAMPAIGNS.column_names)
    payload, quarantined = campaign_responses(responses, campaigns, snapshot, scores)
    return {
        STAGED: snapshot,
        "contact_washing": washing,
        "hard_bounces": bounces,
        "lead_scoring": scoring,
        "campaign_responses": payload,
        QUARANTINE: quarantined,
        **dict(zip(CONTACT_QUARANTINES, (washing_held, bounces_held, scoring_held), strict=True)),
    }


def columns_of(name: str) -> tuple[str, ...]:
    if name == STAGED:
        return CONTACTS.column_names
    if name == QUARANTINE:
        return QUARANTINE_COLUMNS
    if name in CONTACT_QUARANTINES:
        return ("ContactId", *PAYLOADS[name.split("/")[1]].column_names, QUARANTINE_REASON)
    return PAYLOADS[name].column_names


def read_written(lake: LakeLayout, day: dt.date | str) -> dict[str, list[Row]]:
    """What the jobs wrote for D, under the same keys as :func:`recompute_day`, restricted to compared columns."""
    urls = {STAGED: lake.staged_contacts(day), QUARANTINE: lake.quarantine("campaign_responses", day),
            **{p: lake.import_ready(p, day) for p in PAYLOADS},
            **{q: lake.quarantine(p, day) for p, q in zip(CONTACT_PIPELINES, CONTACT_QUARANTINES, strict=True)}}
    return {name: read_rows(url, columns_of(name)) for name, url in urls.items()}


# ---------------------------------------------------------------- comparing row sets

def _key(row: Row, columns: Sequence[str]) -> tuple[Any, ...]:
    return tuple(row[c] for c in columns)


def diff_rows(expected: Iterable[Row], actual: Iterable[Row], columns: Sequence[str], identifier: str,
              limit: int = 5) -> str:
    """Empty when both hold the same multiset of rows over ``columns``; else a readable report.

    Rows differing only in non-identifier values are paired up by ``identifier``.
    """
    exp = Counter(_key(r, columns) for r in expected)
    act = Counter(_key(r, columns) for r in actual)
    missing, extra = exp - act, act - exp
    if not missing and not extra:
        return ""
    i = columns.index(identifier)
    miss_by_id = {k[i]: k for k in missing.elements()}
    extra_by_id = {k[i]: k for k in extra.elements()}
    changed = [ident for ident in miss_by_id if ident in extra_by_id]
    only_exp = [k for k in missing.elements() if k[i] not in extra_by_id]
    only_act = [k for k in extra.elements() if k[i] not in miss_by_id]
    lines = [f"expected {sum(exp.values())} rows, got {sum(act.values())}; {len(changed)} differ in value, "
             f"{len(only_exp)} expected but missing, {len(only_act)} unexpected"]

    def fmt(value: Any) -> str:
        return repr(value.isoformat(sep=" ")) if isinstance(value, dt.datetime) else repr(value)

    def show(key: tuple[Any, ...]) -> str:
        return ", ".join(f"{c}={fmt(v)}" for c, v in zip(columns, key))

    for ident in changed[:limit]:
        e, a = miss_by_id[ident], extra_by_id[ident]
        delta = ", ".join(f"{c}: expected {fmt(x)} got {fmt(y)}" for c, x, y in zip(columns, e, a) if x != y)
        lines.append(f"  differs  {identifier}={fmt(ident)}: {delta}")
    lines += [f"  missing  {show(k)}" for k in only_exp[:limit]]
    lines += [f"  extra    {show(k)}" for k in only_act[:limit]]
    return "\n".join(lines)


def identifier_of(name: str) -> str:
    if name == STAGED:
        return "ContactId"
    if name == QUARANTINE:
        return "ResponseId"
    if name in CONTACT_QUARANTINES:
        return "ContactId"
    return PAYLOADS[name].identifier


def compare_day(lake: LakeLayout, day: dt.date | str) -> dict[str, str]:
    """Per dataset name, the diff report (empty when the jobs' rows equal the recomputation)."""
    expected, actual = recompute_day(lake, day), read_written(lake, day)
    return {name: diff_rows(expected[name], actual[name], columns_of(name), identifier_of(name))
            for name in expected}

