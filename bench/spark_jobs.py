"""Benchmark of the Spark stage: the contacts snapshot and the four pipeline jobs on a generated raw zone.

    .venv/bin/python bench/spark_jobs.py                       # 1,000,000 contacts, 10,000,000 activities
    .venv/bin/python bench/spark_jobs.py --contacts 20000 --activities 200000 --keep /tmp/lake

Generates a deterministic raw zone (pyarrow, vectorised numpy) in a local temporary lake: contacts for day
D, activities of every pipeline type for each day of the 90-day lookback, the day's campaign responses and all
Salesforce campaigns, each dataset committed with ``_SUCCESS`` like the extract stage does. Then runs the jobs
one after the other as Luigi submits them (the command line and environment of the
``luigi_tasks.spark_tasks`` task, with ``--master local[2]``), each submission restricted to its own job, and
prints per job the wall time, the input rows per second, the output rows and the driver's peak RSS (the
spark-submit JVM plus its Python processes).
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.parquet as pq

from contract.objects import (
    ACTIVITIES,
    CAMPAIGN_RESPONSES,
    CONTACTS,
    PIPELINE_ACTIVITY_TYPES,
    SFDC_CAMPAIGNS,
    EloquaObject,
)
from eloqua.export import arrow_schema, arrow_type
from lake.paths import SUCCESS_FLAG, LakeLayout, local_path

DEFAULT_DATE = dt.date(2026, 11, 27)
LOOKBACK_DAYS = 90
SEED = 20261127

# Share of the activities per type; Bounceback is only read for day D, the others over the lookback.
TYPE_SHARES = {
    "EmailSend": 0.34,
    "EmailOpen": 0.26,
    "EmailClickthrough": 0.10,
    "FormSubmit": 0.05,
    "WebVisit": 0.20,
    "Bounceback": 0.05,
}

# ----------------------------------------------------------------------------------------------------
# generation


def _pick(rng: np.random.Generator, choices: list[str | None], n: int,
          p: list[float] | None = None) -> pa.Array:
    """``n`` values drawn from ``choices`` (None = null), vectorised through Arrow's take."""
    idx = rng.choice(len(choices), size=n, p=p)
    return pa.array(choices, pa.string()).take(pa.array(idx))


def _concat(*parts: pa.Array | str) -> pa.Array:
    return pc.binary_join_element_wise(*parts, "")


def _ids(start: int, n: int) -> pa.Array:
    return pc.cast(pa.array(np.arange(start, start + n, dtype=np.int64)), pa.string())


def _email(user: str, contact: np.ndarray, domain: str) -> pa.Array:
    """The e-mail of contact number ``contact``: the same address in contacts, activities and responses."""
    return _concat(user, pc.cast(pa.array(contact), pa.string()), "@", domain,
                   pc.cast(pa.array(contact % 5000), pa.string()), ".com")


def _timestamps(base: dt.datetime, seconds: np.ndarray) -> pa.Array:
    micros = int(base.replace(tzinfo=dt.UTC).timestamp()) * 1_000_000 + seconds.astype(np.int64) * 1_000_000
    return pa.array(micros, pa.timestamp("us", tz="UTC"))


def _with_nulls(rng: np.random.Generator, arr: pa.Array, fraction: float) -> pa.Array:
    mask = pa.array(rng.random(len(arr)) < fraction)
    return pc.if_else(mask, pa.scalar(None, arr.type), arr)


def _null_column(obj: EloquaObject, name: str, n: int) -> pa.Array:
    return pa.nulls(n, arrow_type(obj.column(name).type))


def _write(dataset_url: str, table: pa.Table) -> None:
    """A dataset folder with one Parquet file and its _SUCCESS flag (the extract stage's commit protocol)."""
    folder = Path(local_path(dataset_url))
    folder.mkdir(parents=True, exist_ok=True)
    pq.write_table(table, folder / "part-00000.parquet", compression="snappy")
    (folder / SUCCESS_FLAG).touch()


COUNTRIES = ["US", "USA", "United States", "u.s.", "United States of America", "Canada", "CA", "GB", "UK",
             "United Kingdom", "Germany", "Deutschland", "DE", "France", "FR", "Japan", "JP", "Australia",
             "Brazil", "India", "Spain", "  netherlands ", "Narnia", None, ""]
STATES = ["CA", "California", "NY", "new york", "TX", "Texas", "ON", "Ontario", "QC", "Bavaria",
          "Île-de-France", None, ""]
TITLES = ["CEO", "Chief Marketing Officer", "CTO", "VP Sales", "Vice President, Engineering",
          "Director of IT", "Marketing Director", "Marketing Manager", "Engineering Manager",
          "Software Engineer", "Analyst", "Consultant", "Intern", None, ""]
INDUSTRIES = ["Technology", "technology ", "Financial Services", "Healthcare", "Government",
              "Telecommunications", "Retail", "Manufacturing", "Education", None]
LEVELS = ["C-Level", "VP", "Director", "Manager", "Individual Contributor", "Unknown", None]
RATINGS = ["A1", "B2", "C3", "D4", None]


def contacts_table(rng: np.random.Generator, n: int, day: dt.date) -> pa.Table:
    """``n`` contacts, every one updated before the end of ``day``; ~1% without an e-mail, some dirty ones."""
    ids = _ids(1, n)
    email = _email("user", np.arange(1, n + 1), "example")
    shape = rng.random(n)
    email = pc.if_else(pa.array(shape < 0.05), pc.utf8_upper(email), email)
    email = pc.if_else(pa.array((shape >= 0.05) & (shape < 0.08)), _concat("  ", email, " "), email)
    email = pc.if_else(pa.array((shape >= 0.08) & (shape < 0.09)), pa.scalar("", pa.string()), email)
    email = _with_nulls(rng, email, 0.005)
    start = dt.datetime.combine(day - dt.timedelta(days=3 * 365), dt.time())
    span = (3 * 365 + 1) * 86400
    created = rng.integers(0, span - 86400, n)
    updated = created + (rng.random(n) * (span - 1 - created)).astype(np.int64)
    columns = {
        "ContactId": ids,
        "EmailAddress": email,
        "FirstName": _pick(rng, ["Ann", "Bob", "Chen", "Dana", "Emeka", "Fatima", None], n),
        "LastName": _pick(rng, ["Smith", "Ng", "Müller", "Okafor", "Rossi", None], n),
        "Company": _concat("Company ", pc.cast(pa.array(rng.integers(0, 50_000, n)), pa.string())),
        "Title": _pick(rng, TITLES, n),
        "Country": _pick(rng, COUNTRIES, n),
        "StateProv": _pick(rng, STATES, n),
        "City": _pick(rng, ["Raleigh", "Boston", "Toronto", "Berlin", "Paris", "Tokyo", None], n),
        "Industry": _pick(rng, INDUSTRIES, n),
        "JobLevel": _pick(rng, LEVELS, n, p=[0.05, 0.05, 0.05, 0.05, 0.05, 0.05, 0.70]),
        "LeadRating": _pick(rng, RATINGS, n, p=[0.05, 0.05, 0.05, 0.05, 0.80]),
        "ProfileScore": _with_nulls(rng, pa.array(rng.integers(0, 101, n).astype(np.int64)), 0.8),
        "EngagementScore": _with_nulls(rng, pa.array(rng.integers(0, 101, n).astype(np.int64)), 0.8),
        "HardBouncedAt": _with_nulls(rng, _timestamps(start, updated), 0.97),
        "IsBounced": pa.array(rng.random(n) < 0.03),
        "IsSubscribed": pa.array(rng.random(n) < 0.9),
        "CreatedAt": _timestamps(start, created),
        "UpdatedAt": _timestamps(start, updated),
    }
    return pa.table(columns, schema=arrow_schema(CONTACTS))


def activities_table(rng: np.random.Generator, n: int, activity_type: str, day: dt.date, n_contacts: int,
                     first_id: int) -> pa.Table:
    """``n`` activities of one type on one day; ~2% lack a ContactId, ~0.5% repeat an earlier ActivityId."""
    contact = rng.integers(1, n_contacts + 1, n)
    contact_ids = pc.cast(pa.array(contact), pa.string())
    emails = _email("user", contact, "example")
    no_contact = pa.array(rng.random(n) < 0.02)
    activity_ids = _ids(first_id, n)
    dup = rng.random(n) < 0.005
    if dup.any():  # repeat the previous id: the same activity exported twice
        shifted = pa.concat_arrays([activity_ids[:1], activity_ids[:-1]])
        activity_ids = pc.if_else(pa.array(dup), shifted, activity_ids)
    is_bounce = activity_type == "Bounceback"
    columns = {
        "ActivityId": activity_ids,
        "ActivityType": pa.array(np.full(n, activity_type, dtype=object), pa.string()),
        "ActivityDate": _timestamps(dt.datetime.combine(day, dt.time()), rng.integers(0, 86400, n)),
        "ContactId": pc.if_else(no_contact, pa.scalar(None, pa.string()), contact_ids),
        "EmailAddress": emails,
        "AssetId": pc.cast(pa.array(rng.integers(1000, 1200, n)), pa.string()),
        "AssetName": _concat("Asset ", pc.cast(pa.array(rng.integers(1000, 1200, n)), pa.string())),
        "CampaignId": _with_nulls(
            rng, _concat("701", pc.cast(pa.array(rng.integers(0, 2000, n)), pa.string())), 0.3),
        "SmtpErrorCode": _pick(rng, ["5.1.1", "5.2.1", "4.2.2", "4.4.1", None], n) if is_bounce
        else _null_column(ACTIVITIES, "SmtpErrorCode", n),
        "SmtpStatusCode": _pick(rng, ["550", "552", "421", "450", None], n) if is_bounce
        else _null_column(ACTIVITIES, "SmtpStatusCode", n),
    }
    return pa.table(columns, schema=arrow_schema(ACTIVITIES))


def campaigns_table(rng: np.random.Generator, n: int, day: dt.date) -> pa.Table:
    ids = _concat("701", pc.cast(pa.array(np.arange(n)), pa.string()))
    columns = {
        "CampaignId": ids,
        "CampaignName": _concat("Campaign ", ids),
        "CampaignType": _pick(rng, ["Webinar", "Event", "Email", "Trade Show", "Content"], n),
        "IsActive": pa.array(rng.random(n) < 0.8),
        "StartDate": _timestamps(dt.datetime.combine(day - dt.timedelta(days=365), dt.time()),
                                 rng.integers(0, 365 * 86400, n)),
    }
    return pa.table(columns, schema=arrow_schema(SFDC_CAMPAIGNS))


def responses_table(rng: np.random.Generator, n: int, day: dt.date, n_contacts: int,
                    n_campaigns: int) -> pa.Table:
    """The day's responses; ~1% name a campaign Salesforce does not know (quarantined)."""
    contact = rng.integers(1, n_contacts + 1, n)
    campaign = rng.integers(0, int(n_campaigns * 1.01) + 1, n)
    columns = {
        "ResponseId": _concat("R", _ids(1, n)),
        "ContactEmail": _email("User", contact, "Example"),
        "CampaignId": _concat("701", pc.cast(pa.array(campaign), pa.string())),
        "ResponseStatus": _pick(rng, ["Responded", " attended", "REGISTERED", "No-Show", "no_show", "noshow",
                                      "Clicked", None], n),
        "RespondedAt": _timestamps(dt.datetime.combine(day, dt.time()), rng.integers(0, 86400, n)),
    }
    for name in ("CampaignName", "CampaignType", "LeadRatingAtResponse", "StatusNormalized"):
        columns[name] = _null_column(CAMPAIGN_RESPONSES, name, n)
    return pa.table(columns, schema=arrow_schema(CAMPAIGN_RESPONSES))


@dataclass(frozen=True)
class RawCounts:
    contacts: int
    activities: int
    activities_by_type: dict[str, int]
    bounces_on_day: int
    responses: int
    campaigns: int


def generate(lake_url: str, day: dt.date, *, contacts: int, activities: int, responses: int, campaigns: int,
             seed: int = SEED) -> RawCounts:
    """Write the raw zone for ``day`` into a ``file://`` lake; the same arguments give the same bytes."""
    layout = LakeLayout(lake_url)
    rng = np.random.default_rng(seed)
    _write(layout.raw_contacts(day), contacts_table(rng, contacts, day))
    days = [day - dt.timedelta(days=i) for i in range(LOOKBACK_DAYS - 1, -1, -1)]
    by_type: dict[str, int] = {}
    bounces_on_day = 0
    next_id = 1
    for activity_type in PIPELINE_ACTIVITY_TYPES:
        total = round(activities * TYPE_SHARES[activity_type])
        per_day = np.full(LOOKBACK_DAYS, total // LOOKBACK_DAYS)
        per_day[: total % LOOKBACK_DAYS] += 1
        for d, n in zip(days, per_day, strict=True):
            _write(layout.raw_activities(activity_type, d),
                   activities_table(rng, int(n), activity_type, d, contacts, next_id))
            next_id += int(n)
        by_type[activity_type] = total
        if activity_type == "Bounceback":
            bounces_on_day = int(per_day[-1])
    _write(layout.raw_custom_object(SFDC_CAMPAIGNS.name, day), campaigns_table(rng, campaigns, day))
    _write(layout.raw_custom_object(CAMPAIGN_RESPONSES.name, day),
           responses_table(rng, responses, day, contacts, campaigns))
    return RawCounts(contacts, sum(by_type.values()), by_type, bounces_on_day, responses, campaigns)


# ----------------------------------------------------------------------------------------------------
# running


class PeakRss:
    """Samples the summed RSS of a process and its descendants until stopped; keeps the peaks."""

    def __init__(self, pid: int, interval: float = 0.2) -> None:
        import psutil

        self._root = psutil.Process(pid)
        self._interval = interval
        self._stop = threading.Event()
        self.peak_total = 0
        self.peak_jvm = 0
        self.peak_python = 0
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        import psutil

        while not self._stop.is_set():
            try:
                procs = [self._root, *self._root.children(recursive=True)]
            except psutil.Error:
                return
            jvm = python = 0
            for proc in procs:
                try:
                    rss = proc.memory_info().rss
                    name = proc.name()
                except psutil.Error:
                    continue
                if name.startswith("java"):
                    jvm += rss
                elif name.startswith("python"):
                    python += rss
            self.peak_jvm = max(self.peak_jvm, jvm)
            self.peak_python = max(self.peak_python, python)
            self.peak_total = max(self.peak_total, jvm + python)
            self._stop.wait(self._interval)

    def stop(self) -> None:
        self._stop.set()
        self._thread.join()


@dataclass(frozen=True)
class JobResult:
    job: str
    seconds: float
    input_rows: int
    output_rows: int
    peak_rss_jvm: int
    peak_rss_python: int
    peak_rss_total: int

    @property
    def rows_per_second(self) -> float:
        return self.input_rows / self.seconds if self.seconds else 0.0


def _count_rows(dataset_url: str) -> int:
    folder = Path(local_path(dataset_url))
    if not folder.exists():
        return 0
    return sum(pq.ParquetFile(p).metadata.num_rows for p in folder.rglob("*.parquet"))


def run_job(task: object, log_dir: Path) -> tuple[float, PeakRss]:
    """Run one task's spark-submit command line (as Luigi would) and measure it."""
    args = [str(a) for a in task.program_args()]  # type: ignore[attr-defined]
    # One job per submission, as before the night driver, so each job's figures are its own (start-up
    # included); bench/duckdb_baseline.py and bench/nightly.py measure the night as one submission.
    args[args.index("--jobs") + 1] = task.job  # type: ignore[attr-defined]
    env = task.program_environment()  # type: ignore[attr-defined]
    log = log_dir / f"{type(task).__name__}.log"
    with log.open("wb") as out:
        started = time.monotonic()
        proc = subprocess.Popen(args, env=env, stdout=out, stderr=subprocess.STDOUT)
        rss = PeakRss(proc.pid)
        code = proc.wait()
        seconds = time.monotonic() - started
        rss.stop()
    if code != 0:
        raise SystemExit(f"{type(task).__name__} failed with status {code}; see {log}")
    return seconds, rss


def run_all(lake_url: str, day: dt.date, counts: RawCounts, master: str, log_dir: Path) -> list[JobResult]:
    import luigi

    from luigi_tasks import spark_tasks as st

    config = luigi.configuration.get_config()
    if not config.has_section("spark"):
        config.add_section("spark")
    config.set("spark", "master", master)
    os.environ["SCC_LAKE_URL"] = lake_url
    layout = LakeLayout(lake_url)
    lookback_rows = sum(v for k, v in counts.activities_by_type.items() if k in st.SCORED_ACTIVITY_TYPES)
    plan = [
        (st.ContactsSnapshot, counts.contacts, layout.staged_contacts(day)),
        (st.ContactWashing, counts.contacts, layout.import_ready("contact_washing", day)),
        (st.HardBounces, counts.contacts + counts.bounces_on_day, layout.import_ready("hard_bounces", day)),
        (st.LeadScoring, counts.contacts + lookback_rows, layout.import_ready("lead_scoring", day)),
        # campaign_responses recomputes the run's lead ratings: it reads the scoring inputs too
        (st.CampaignResponses, counts.responses + counts.campaigns + counts.contacts + lookback_rows,
         layout.import_ready("campaign_responses", day)),
    ]
    results = []
    for cls, input_rows, output in plan:
        task = cls(date=day)
        seconds, rss = run_job(task, log_dir)
        result = JobResult(task.job, seconds, input_rows, _count_rows(output), rss.peak_jvm, rss.peak_python,
                           rss.peak_total)
        results.append(result)
        print(_format(result), flush=True)
    return results


def _mib(n: int) -> str:
    return f"{n / 2**20:,.0f} MiB"


def _format(r: JobResult) -> str:
    return (f"{r.job:<20} {r.seconds:8.1f} s  {r.input_rows:>12,} rows in  "
            f"{r.rows_per_second:>12,.0f} rows/s  {r.output_rows:>10,} rows out  "
            f"peak RSS {_mib(r.peak_rss_total)} "
            f"(JVM {_mib(r.peak_rss_jvm)}, Python {_mib(r.peak_rss_python)})")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--contacts", type=int, default=1_000_000)
    parser.add_argument("--activities", type=int, default=10_000_000)
    parser.add_argument("--responses", type=int, default=50_000)
    parser.add_argument("--campaigns", type=int, default=2_000)
    parser.add_argument("--date", type=dt.date.fromisoformat, default=DEFAULT_DATE)
    parser.add_argument("--master", default="local[2]")
    parser.add_argument("--keep", type=Path, help="lake folder to keep (default: a temporary one, removed)")
    args = parser.parse_args(argv)

    root = args.keep.resolve() if args.keep else Path(tempfile.mkdtemp(prefix="scc-bench-"))
    lake_url = "file://" + str(root / "lake")
    log_dir = root / "logs"
    log_dir.mkdir(parents=True, exist_ok=True)
    try:
        started = time.monotonic()
        counts = generate(lake_url, args.date, contacts=args.contacts, activities=args.activities,
                          responses=args.responses, campaigns=args.campaigns)
        print(f"generated {counts.contacts:,} contacts, {counts.activities:,} activities "
              f"({counts.bounces_on_day:,} bouncebacks on {args.date}), {counts.responses:,} responses, "
              f"{counts.campaigns:,} campaigns in {time.monotonic() - started:.1f} s", flush=True)
        print(f"python {sys.version.split()[0]}, {os.cpu_count()} CPUs, master {args.master}", flush=True)
        results = run_all(lake_url, args.date, counts, args.master, log_dir)
        total = sum(r.seconds for r in results)
        print(f"{'total':<20} {total:8.1f} s", flush=True)
    finally:
        if not args.keep:
            shutil.rmtree(root, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
