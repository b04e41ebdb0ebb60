"""The Spark stage against a single-node baseline: the same rules as DuckDB SQL on the same Parquet files.

    .venv/bin/pip install -e '.[bench]'
    .venv/bin/python bench/duckdb_baseline.py --keep /tmp/bench            # 1,000,000 contacts, 10M activities
    .venv/bin/python bench/duckdb_baseline.py --contacts 100000 --activities 1000000 --keep /tmp/bench-100k

Generates the raw zone of ``bench/spark_jobs.py`` (unless ``--keep`` already holds one), runs the night's
transform jobs (snapshot and the four pipelines) as one ``spark-submit jobs/night.py`` with the command line
and environment of the ``ContactsSnapshot`` task (``--master local[2]``, ``conf/spark-defaults.conf``), then the
same rules written as DuckDB SQL in a fresh Python process over the same raw files, each job writing Parquet
like its Spark job. Prints per job Spark seconds (from the night driver's lines), DuckDB seconds and their
ratio, then the totals with process start-up included on both sides, and checks that both sides wrote the
same rows (``EXCEPT ALL`` both ways, payloads and quarantines). A first run (no earlier snapshot, no earlier
load) as in the benchmark: the snapshot is D's full export.

The SQL mirrors ``spark/`` rule for rule; a difference in rows is a failure (exit 1), not a figure.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import re
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from spark_jobs import DEFAULT_DATE, LOOKBACK_DAYS, PeakRss, generate

from lake.paths import LakeLayout, local_path

REPO = Path(__file__).resolve().parents[1]
JOBS = ("contacts_snapshot", "contact_washing", "hard_bounces", "lead_scoring", "campaign_responses")
PIPELINES = JOBS[1:]
EMAIL_PATTERN = r"^[a-z0-9._%+'-]+@[a-z0-9-]+(\.[a-z0-9-]+)*\.[a-z]{2,}$"
JOB_LEVEL_POINTS = {"C-Level": 40, "VP": 35, "Director": 30, "Manager": 20, "Individual Contributor": 10}
ENGAGEMENT = {"EmailOpen": (1, 10), "EmailClickthrough": (3, 30), "FormSubmit": (10, 40), "WebVisit": (2, 20)}


def _q(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


# RE2 (DuckDB) has no lookahead: the one negative lookahead of job_levels.csv, written without it. After the
# word, optional blanks then the end, or a character that does not start "gen".
_RE2 = {r"(?!\s*gen)": r"(\s*$|\s*([^g\s]|g[^e]|ge[^n]|ge$|g$))"}


def _re2(pattern: str) -> str:
    for java, re2 in _RE2.items():
        pattern = pattern.replace(java, re2)
    return pattern


def _job_level_sql(title: str, rules: list[tuple[str, str]]) -> str:
    rules = [(_re2(p), level) for p, level in rules]
    whens = " ".join(f"WHEN regexp_matches({title}, {_q('(?i)' + p)}) THEN {_q(level)}" for p, level in rules)
    return f"CASE WHEN {title} IS NULL OR trim({title}) = '' THEN 'Unknown' {whens} ELSE 'Unknown' END"


def _files(folder: str) -> str:
    return _q(str(Path(local_path(folder)) / "*.parquet"))


def _read(*globs: str) -> str:
    """The Parquet files as one relation; ``run_date=`` folders are not columns (Spark reads them so too)."""
    return f"read_parquet([{', '.join(globs)}], hive_partitioning=false)"


def duckdb_night(lake_url: str, out: Path, day: dt.date) -> dict[str, float]:
    """Runs the five jobs as DuckDB SQL, writing Parquet under ``out``; returns seconds per job."""
    import csv

    import duckdb

    from contract.settings import load_settings

    settings = load_settings().lead_scoring
    layout = LakeLayout(lake_url)
    con = duckdb.connect()
    con.execute("SET TimeZone = 'UTC'")
    con.execute("SET enable_progress_bar = false")
    ref = REPO / "conf" / "reference"
    rules = [(r["pattern"], r["level"]) for r in csv.DictReader((ref / "job_levels.csv").open(encoding="utf-8"))]
    con.execute(f"CREATE TABLE countries AS SELECT * FROM read_csv({_q(str(ref / 'countries.csv'))}, all_varchar=true)")
    con.execute(f"CREATE TABLE states AS SELECT * FROM read_csv({_q(str(ref / 'states.csv'))}, all_varchar=true)")
    start = dt.datetime.combine(day, dt.time())
    end = start + dt.timedelta(days=1)
    lookback_start = start - dt.timedelta(days=settings.lookback_days - 1)
    seconds: dict[str, float] = {}

    def rest(relation: str, *exclude: str) -> str:
        """Every other column ascending, nulls last: Spark's keep_one_row_per tie-break."""
        names = [r[0] for r in con.execute(f"DESCRIBE SELECT * FROM {relation}").fetchall() if r[0] not in exclude]
        return ", ".join(f'"{n}" ASC NULLS LAST' for n in names)

    def timed(job: str, *statements: str) -> None:
        began = time.monotonic()
        for statement in statements:
            con.execute(statement)
        seconds[job] = time.monotonic() - began

    def write(name: str, query: str) -> str:
        target = out / name
        target.mkdir(parents=True, exist_ok=True)
        return f"COPY ({query}) TO {_q(str(target / 'part-0.parquet'))} (FORMAT parquet, COMPRESSION snappy)"

    # 2. the snapshot: per ContactId the latest row by UpdatedAt before D+1, ties by every other column
    raw = _read(_files(layout.raw_contacts(day)))
    timed("contacts_snapshot",
          f"""CREATE TABLE snapshot AS SELECT * EXCLUDE (_n) FROM (
                SELECT *, row_number() OVER (PARTITION BY ContactId ORDER BY UpdatedAt DESC,
                    {rest(raw, "ContactId", "UpdatedAt")}) AS _n
                FROM {raw} WHERE ContactId IS NOT NULL AND UpdatedAt < TIMESTAMPTZ '{end}+00')
              WHERE _n = 1""",
          write("contacts_snapshot", "SELECT * FROM snapshot"))

    reason = f"""CASE WHEN NOT coalesce(regexp_matches(lower(trim(EmailAddress)), {_q(EMAIL_PATTERN)}), false)
                      THEN 'invalid_email_address'
                      WHEN lower(trim(EmailAddress)) IN (SELECT email FROM shared) THEN 'shared_email_address' END"""
    level_points = " ".join(f"WHEN {_q(k)} THEN {v}" for k, v in JOB_LEVEL_POINTS.items())
    countries = ", ".join(_q(c) for c in settings.target_countries) or "NULL"
    industries = ", ".join(_q(i) for i in settings.target_industries) or "NULL"
    washed = f"""CREATE TABLE washed AS SELECT s.*,
            c.iso2 AS country_iso,
            coalesce(st.code, trim(s.StateProv)) AS state_code,
            {_job_level_sql('s.Title', rules)} AS job_level
        FROM snapshot s
        LEFT JOIN countries c ON trim(regexp_replace(upper(s.Country), '\\s+', ' ', 'g')) = c.alias
        LEFT JOIN states st ON st.country_iso IN ('US', 'CA') AND st.country_iso = c.iso2
            AND upper(trim(s.StateProv)) = st.alias"""
    shared = """CREATE TABLE shared AS SELECT lower(trim(EmailAddress)) AS email FROM snapshot
        WHERE EmailAddress IS NOT NULL AND trim(EmailAddress) <> '' GROUP BY 1 HAVING count(*) > 1"""
    rows = f"""CREATE TABLE washing_rows AS SELECT ContactId, EmailAddress,
            coalesce(country_iso, Country) AS Country, state_code AS StateProv, job_level AS JobLevel,
            {reason} AS reason
        FROM washed WHERE EmailAddress IS NOT NULL AND trim(EmailAddress) <> ''
          AND (coalesce(country_iso, Country) IS DISTINCT FROM Country OR state_code IS DISTINCT FROM StateProv
               OR job_level IS DISTINCT FROM JobLevel)"""
    timed("contact_washing", washed, shared, rows,
          write("contact_washing", "SELECT EmailAddress, Country, StateProv, JobLevel FROM washing_rows "
                                   "WHERE reason IS NULL"),
          write("quarantine_contact_washing", "SELECT * FROM washing_rows WHERE reason IS NOT NULL"))

    bounces = _read(_files(layout.raw_activities("Bounceback", day)))
    timed("hard_bounces",
          f"""CREATE TABLE hard AS SELECT * FROM {bounces}
              WHERE ActivityType = 'Bounceback' AND ActivityDate >= TIMESTAMPTZ '{start}+00'
                AND ActivityDate < TIMESTAMPTZ '{end}+00'
                AND (coalesce(starts_with(SmtpErrorCode, '5'), false)
                     OR coalesce(starts_with(SmtpStatusCode, '5'), false))""",
          """CREATE TABLE matched AS
              SELECT s.ContactId AS cid, h.ActivityDate FROM hard h JOIN (SELECT DISTINCT ContactId FROM snapshot) s
                ON h.ContactId = s.ContactId
              UNION ALL
              SELECT e.cid, h.ActivityDate FROM hard h JOIN (
                SELECT DISTINCT ContactId AS cid, lower(trim(EmailAddress)) AS email FROM snapshot
                WHERE EmailAddress IS NOT NULL AND trim(EmailAddress) <> '') e
                ON h.ContactId IS NULL AND lower(trim(h.EmailAddress)) = e.email""",
          f"""CREATE TABLE bounce_rows AS SELECT s.ContactId, s.EmailAddress, l.at AS HardBouncedAt,
                  true AS IsBounced, {reason} AS reason
              FROM snapshot s JOIN (SELECT cid, max(ActivityDate) AS at FROM matched GROUP BY cid) l
                ON s.ContactId = l.cid
              WHERE s.EmailAddress IS NOT NULL AND trim(s.EmailAddress) <> ''
                AND NOT coalesce(s.IsBounced = true AND s.HardBouncedAt >= l.at, false)""",
          write("hard_bounces", "SELECT EmailAddress, HardBouncedAt, IsBounced FROM bounce_rows WHERE reason IS NULL"),
          write("quarantine_hard_bounces", "SELECT * FROM bounce_rows WHERE reason IS NOT NULL"))

    days = [lookback_start.date() + dt.timedelta(days=n) for n in range(settings.lookback_days)]
    lookback = _read(*(_files(layout.raw_activities(t, d)) for t in ENGAGEMENT for d in days))
    caps = " + ".join(
        f"least({cap}, {each} * count(*) FILTER (WHERE ActivityType = {_q(t)}))"
        for t, (each, cap) in ENGAGEMENT.items())
    scored = f"""CREATE TABLE scored AS
        WITH acts AS (SELECT ActivityId, ActivityType, ActivityDate, ContactId FROM {lookback}
                      WHERE ActivityDate >= TIMESTAMPTZ '{lookback_start}+00'
                        AND ActivityDate < TIMESTAMPTZ '{end}+00'),
             dedup AS (SELECT * FROM acts QUALIFY row_number() OVER (PARTITION BY ActivityId
                        ORDER BY ActivityType ASC NULLS LAST, ActivityDate ASC NULLS LAST,
                                 ContactId ASC NULLS LAST) = 1),
             eng AS (SELECT ContactId, CAST({caps} AS INTEGER) AS points FROM dedup
                     WHERE ContactId IS NOT NULL AND ActivityType IN ({', '.join(_q(t) for t in ENGAGEMENT)})
                     GROUP BY ContactId)
        SELECT w.*, coalesce(e.points, 0) AS engagement_points,
               CAST((CASE w.job_level {level_points} ELSE 0 END)
                 + (CASE WHEN w.country_iso IN ({countries}) THEN 30 ELSE 0 END)
                 + (CASE WHEN lower(trim(w.Industry)) IN ({industries}) THEN 30 ELSE 0 END) AS INTEGER)
               AS profile_points
        FROM washed w LEFT JOIN eng e ON w.ContactId = e.ContactId"""
    rating = """CREATE TABLE rated AS SELECT *, (CASE WHEN profile_points >= 80 THEN 'A' WHEN profile_points >= 60
            THEN 'B' WHEN profile_points >= 30 THEN 'C' ELSE 'D' END) || (CASE WHEN engagement_points >= 60 THEN '1'
            WHEN engagement_points >= 30 THEN '2' WHEN engagement_points >= 10 THEN '3' ELSE '4' END) AS lead_rating
        FROM scored"""
    score_rows = f"""CREATE TABLE scoring_rows AS SELECT ContactId, EmailAddress, lead_rating AS LeadRating,
            profile_points AS ProfileScore, engagement_points AS EngagementScore, {reason} AS reason
        FROM rated WHERE EmailAddress IS NOT NULL AND trim(EmailAddress) <> ''
          AND (lead_rating IS DISTINCT FROM LeadRating OR profile_points IS DISTINCT FROM ProfileScore
               OR engagement_points IS DISTINCT FROM EngagementScore)"""
    timed("lead_scoring", scored, rating, score_rows,
          write("lead_scoring", "SELECT EmailAddress, LeadRating, ProfileScore, EngagementScore FROM scoring_rows "
                                "WHERE reason IS NULL"),
          write("quarantine_lead_scoring", "SELECT * FROM scoring_rows WHERE reason IS NOT NULL"))

    # campaign_responses recomputes the run's ratings, as its Spark job does: the same statements again
    status = """CASE regexp_replace(lower(trim(ResponseStatus)), '[\\s_-]+', ' ', 'g')
        WHEN 'responded' THEN 'Responded' WHEN 'attended' THEN 'Attended' WHEN 'registered' THEN 'Registered'
        WHEN 'no show' THEN 'No Show' WHEN 'noshow' THEN 'No Show' ELSE 'Other' END"""
    responses = _read(_files(layout.raw_custom_object("campaign_responses", day)))
    campaigns = _read(_files(layout.raw_custom_object("sfdc_campaigns", day)))
    timed("campaign_responses",
          scored.replace("TABLE scored", "TABLE scored2"),
          rating.replace("TABLE rated", "TABLE rated2").replace("FROM scored", "FROM scored2"),
          f"""CREATE TABLE enriched AS
            WITH r AS (SELECT * EXCLUDE (_n) FROM (SELECT *, row_number() OVER (PARTITION BY ResponseId
                         ORDER BY RespondedAt DESC NULLS LAST,
                                  {rest(responses, "ResponseId", "RespondedAt")}) AS _n
                       FROM {responses} WHERE ResponseId IS NOT NULL) WHERE _n = 1),
                 c AS (SELECT * EXCLUDE (_n) FROM (SELECT *, row_number() OVER (PARTITION BY CampaignId
                         ORDER BY {rest(campaigns, "CampaignId")}) AS _n
                       FROM {campaigns} WHERE CampaignId IS NOT NULL) WHERE _n = 1),
                 ratings AS (SELECT email, lead_rating FROM (SELECT lower(trim(EmailAddress)) AS email, lead_rating,
                         row_number() OVER (PARTITION BY lower(trim(EmailAddress)) ORDER BY UpdatedAt DESC NULLS LAST,
                           ContactId DESC NULLS LAST, lead_rating ASC NULLS LAST) AS _n
                       FROM rated2 WHERE EmailAddress IS NOT NULL AND trim(EmailAddress) <> '') WHERE _n = 1)
            SELECT r.*, c.CampaignName AS campaign_name, c.CampaignType AS campaign_type,
                   ratings.lead_rating AS lead_rating_at_response, {status} AS status_normalized,
                   CASE WHEN r.CampaignId IS NULL THEN 'CampaignId is null'
                        WHEN c.CampaignId IS NULL THEN 'CampaignId matches no Salesforce campaign' END AS reason
            FROM r LEFT JOIN c ON r.CampaignId = c.CampaignId
                   LEFT JOIN ratings ON lower(trim(r.ContactEmail)) = ratings.email
            WHERE r.RespondedAt >= TIMESTAMPTZ '{start}+00' AND r.RespondedAt < TIMESTAMPTZ '{end}+00'""",
          write("campaign_responses", """SELECT ResponseId, campaign_name AS CampaignName,
                campaign_type AS CampaignType,
                lead_rating_at_response AS LeadRatingAtResponse, status_normalized AS StatusNormalized FROM enriched
                WHERE reason IS NULL AND (campaign_name IS DISTINCT FROM CampaignName
                  OR campaign_type IS DISTINCT FROM CampaignType
                  OR lead_rating_at_response IS DISTINCT FROM LeadRatingAtResponse
                  OR status_normalized IS DISTINCT FROM StatusNormalized)"""),
          write("quarantine_campaign_responses", "SELECT * EXCLUDE (campaign_name, campaign_type, "
                "lead_rating_at_response, status_normalized) FROM enriched WHERE reason IS NOT NULL"))
    return seconds


def _count(con: Any, query: str) -> int:
    row = con.execute(query).fetchone()
    return int(row[0]) if row else 0


def compare(lake_url: str, out: Path, day: dt.date) -> dict[str, tuple[int, int, int]]:
    """``{dataset: (spark rows, duckdb rows, rows on one side only)}`` for every dataset both sides wrote."""
    import duckdb

    layout = LakeLayout(lake_url)
    pairs = {"contacts_snapshot": layout.staged_contacts(day), **{p: layout.import_ready(p, day) for p in PIPELINES},
             **{f"quarantine_{p}": layout.quarantine(p, day) for p in PIPELINES}}
    con = duckdb.connect()
    con.execute("SET TimeZone = 'UTC'")
    con.execute("SET enable_progress_bar = false")
    result = {}
    for name, url in pairs.items():
        spark_files = list(Path(local_path(url)).glob("*.parquet"))
        mine = out / name / "part-0.parquet"
        if not spark_files or not mine.exists():
            continue
        spark_rel = f"read_parquet({_q(str(Path(local_path(url)) / '*.parquet'))}, hive_partitioning=false)"
        columns = [r[0] for r in con.execute(f"DESCRIBE SELECT * FROM {spark_rel}").fetchall()]
        cols = ", ".join(f'"{c}"' for c in columns)
        duck_rel = f"(SELECT {cols} FROM read_parquet({_q(str(mine))}, hive_partitioning=false))"
        spark_rows = _count(con, f"SELECT count(*) FROM {spark_rel}")
        duck_rows = _count(con, f"SELECT count(*) FROM {duck_rel}")
        # both sides' types: cast DuckDB's to Spark's by position through UNION's first branch
        differ = _count(con, f"""SELECT count(*) FROM (
            (SELECT {cols} FROM {spark_rel} EXCEPT ALL SELECT * FROM {duck_rel})
            UNION ALL (SELECT * FROM {duck_rel} EXCEPT ALL SELECT {cols} FROM {spark_rel}))""")
        result[name] = (spark_rows, duck_rows, differ)
    return result


def run_spark(lake_url: str, day: dt.date, master: str, log: Path) -> tuple[float, dict[str, float], str, int]:
    """The night's transform jobs as the ContactsSnapshot task submits them; ``(wall, per job, last line, RSS)``."""
    import luigi

    from luigi_tasks import spark_tasks as st

    config = luigi.configuration.get_config()
    if not config.has_section("spark"):
        config.add_section("spark")
    config.set("spark", "master", master)
    os.environ["SCC_LAKE_URL"] = lake_url
    task = st.ContactsSnapshot(date=day)
    args = [str(a) for a in task.program_args()]
    jobs = args.index("--jobs")
    args[jobs + 1] = ",".join(JOBS)  # the transform jobs only: the gates are benched by bench/nightly.py
    with log.open("wb") as sink:
        began = time.monotonic()
        proc = subprocess.Popen(args, env=task.program_environment(), stdout=sink, stderr=subprocess.STDOUT)
        rss = PeakRss(proc.pid)
        code = proc.wait()
        wall = time.monotonic() - began
        rss.stop()
    text = log.read_text(errors="replace")
    if code != 0:
        raise SystemExit(f"spark-submit jobs/night.py failed ({code}); see {log}")
    per_job = {m[1]: float(m[2]) for m in re.finditer(r"^night \S+: (\S+) exit 0 in ([\d.]+) s", text, re.M)}
    summary = next(line for line in text.splitlines() if re.match(r"night \S+: session start", line))
    return wall, per_job, summary, rss.peak_total


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--contacts", type=int, default=1_000_000)
    parser.add_argument("--activities", type=int, default=10_000_000)
    parser.add_argument("--responses", type=int, default=50_000)
    parser.add_argument("--campaigns", type=int, default=2_000)
    parser.add_argument("--date", type=dt.date.fromisoformat, default=DEFAULT_DATE)
    parser.add_argument("--master", default="local[2]")
    parser.add_argument("--keep", type=Path, help="folder of the lake (reused when it holds a raw zone)")
    parser.add_argument("--duckdb-only", type=Path, help=argparse.SUPPRESS)  # the child process: output folder
    args = parser.parse_args(argv)
    root = args.keep.resolve() if args.keep else Path(tempfile.mkdtemp(prefix="scc-duckdb-"))
    lake_url = "file://" + str(root / "lake")
    if args.duckdb_only:
        print(json.dumps(duckdb_night(lake_url, args.duckdb_only, args.date)))
        return 0

    layout = LakeLayout(lake_url)
    if not Path(local_path(layout.success_flag(layout.raw_contacts(args.date)))).exists():
        counts = generate(lake_url, args.date, contacts=args.contacts, activities=args.activities,
                          responses=args.responses, campaigns=args.campaigns)
        print(f"generated {counts.contacts:,} contacts, {counts.activities:,} activities", flush=True)
    for job in JOBS:  # the Spark night rebuilds everything: a first run
        folder = layout.staged_contacts(args.date) if job == JOBS[0] else layout.import_ready(job, args.date)
        subprocess.run(["rm", "-rf", local_path(folder), *(
            [local_path(layout.quarantine(job, args.date))] if job != JOBS[0] else [])], check=True)
    print(f"load average {os.getloadavg()[0]:.1f}, {os.cpu_count()} CPUs, lookback {LOOKBACK_DAYS} days", flush=True)

    spark_wall, spark_jobs, summary, spark_rss = run_spark(lake_url, args.date, args.master, root / "night.log")
    out = root / "duckdb"
    subprocess.run(["rm", "-rf", str(out)], check=True)
    began = time.monotonic()
    child = subprocess.run([sys.executable, __file__, "--keep", str(root), "--date", args.date.isoformat(),
                            "--duckdb-only", str(out)], capture_output=True, text=True, check=False)
    duck_wall = time.monotonic() - began
    if child.returncode != 0:
        raise SystemExit(f"the DuckDB baseline failed: {child.stderr.strip().splitlines()[-1:]}")
    duck_jobs = json.loads(child.stdout.strip().splitlines()[-1])

    print(f"{'job':<20} {'Spark s':>8} {'DuckDB s':>9} {'ratio':>6}")
    for job in JOBS:
        ratio = spark_jobs[job] / duck_jobs[job] if duck_jobs[job] else float("inf")
        print(f"{job:<20} {spark_jobs[job]:8.1f} {duck_jobs[job]:9.2f} {ratio:6.1f}")
    print(f"{'total (processes)':<20} {spark_wall:8.1f} {duck_wall:9.2f} {spark_wall / duck_wall:6.1f}"
          f"   Spark peak RSS {spark_rss / 2**20:,.0f} MiB; {summary}")
    differences = 0
    for name, (spark_rows, duck_rows, differ) in compare(lake_url, out, args.date).items():
        print(f"same rows? {name:<32} Spark {spark_rows:>10,}  DuckDB {duck_rows:>10,}  "
              f"{'yes' if differ == 0 else f'NO: {differ:,} rows on one side only'}")
        differences += differ
    return 1 if differences else 0


if __name__ == "__main__":
    raise SystemExit(main())
