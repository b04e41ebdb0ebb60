"""The Spark stage in Luigi: one task per job under ``jobs/``, chained snapshot -> pipelines.

Each task is complete when its job's dataset carries ``_SUCCESS`` and was built from its inputs as they are now
(:mod:`lake.lineage`): republishing the raw contacts (``--full-refresh``) rebuilds the snapshot and every
payload of the day; a plain rerun does nothing.

A night pays the Spark start-up once: each task submits the night driver, ``spark-submit jobs/night.py --date D
--lake URL --jobs ... --exit-for <job>`` (:mod:`luigi_tasks.spark_submit`), which runs several jobs in one Spark
application, skips those up to date and exits with the code of the task's own job. :class:`ContactsSnapshot`
requires the whole night's extract and submits every job of the night (snapshot, pipelines, gates); the pipeline
and gate tasks then find their outputs published and return at once, or, for a job that failed in that night,
submit it again alone (a pipeline with its gate). Each job still runs by hand as ``spark-submit jobs/<job>.py``.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

import luigi

from jobs.night import NIGHT, gate_job
from luigi_tasks import config as scc_config
from luigi_tasks.extract import ExtractActivityLookback, ExtractContacts, ExtractCustomObject
from luigi_tasks.spark_submit import SparkJobTask
from spark.hard_bounces import BOUNCEBACK
from spark.lead_scoring import SCORED_ACTIVITY_TYPES

__all__ = ["SPARK_TASKS", "CampaignResponses", "ContactWashing", "ContactsSnapshot", "HardBounces", "LeadScoring",
           "SparkJobTask", "raw_requirements"]


def raw_requirements(date: dt.date) -> dict[str, list[luigi.Task]]:
    """The extract tasks each Spark job needs for day ``date``, keyed by job name.

    ``contact_washing`` reads only the snapshot. ``campaign_responses`` recomputes the run's lead ratings, so it
    reads the scoring lookback too. The lookback wrappers fetch only the days missing from the lake.
    """
    scoring: list[luigi.Task] = [ExtractActivityLookback(date=date, activity_type=t) for t in SCORED_ACTIVITY_TYPES]
    return {
        "contacts_snapshot": [ExtractContacts(date=date, full_refresh=scc_config.full_refresh())],
        # The lookback wrapper, not ExtractActivities(D): the nightly run fetches the same days through it, and two
        # tasks exporting one day would both publish it.
        "hard_bounces": [ExtractActivityLookback(date=date, activity_type=BOUNCEBACK)],
        "lead_scoring": scoring,
        "campaign_responses": [ExtractCustomObject(object_name="campaign_responses", date=date),
                               ExtractCustomObject(object_name="sfdc_campaigns", date=date), *scoring],
    }


class ContactsSnapshot(SparkJobTask):
    """``staged/contacts/run_date=D``: the raw contacts of D merged into the latest earlier snapshot."""

    job = "contacts_snapshot"

    def job_options(self) -> list[str]:
        return ["--full-refresh"] if scc_config.full_refresh() else []

    def night_jobs(self) -> list[str]:
        # The first Spark task of a night submits the whole night: one JVM start-up for every job.
        return list(NIGHT)

    def requires(self) -> dict[str, Any]:
        # The whole night's extract, not only the contacts: this task's submission runs every job of the night.
        night: list[luigi.Task] = []
        for tasks in raw_requirements(self.date).values():
            night += [task for task in tasks if task not in night]
        return {"raw": night}

    def output_url(self) -> str:
        return self.layout.staged_contacts(self.date)

    def input_urls(self) -> list[str]:
        return [self.layout.raw_contacts(self.date)]

    def upstream(self) -> list[luigi.Task]:
        return list(raw_requirements(self.date)[self.job])


class _PipelineTask(SparkJobTask):
    """A pipeline job: reads the snapshot of D, writes ``import_ready/<job>/run_date=D``.

    Normally published by the night :class:`ContactsSnapshot` submitted; submitted again, with its gate, only
    when it failed there."""

    def night_jobs(self) -> list[str]:
        return [self.job, gate_job(self.job)]

    def requires(self) -> dict[str, Any]:
        return {"snapshot": ContactsSnapshot(date=self.date),
                "raw": raw_requirements(self.date).get(self.job, [])}

    def output_url(self) -> str:
        return self.layout.import_ready(self.job, self.date)

    def input_urls(self) -> list[str]:
        return [self.layout.staged_contacts(self.date)]

    def upstream(self) -> list[luigi.Task]:
        return [ContactsSnapshot(date=self.date)]


class ContactWashing(_PipelineTask):
    """``import_ready/contact_washing/run_date=D`` (spec 3.1)."""

    job = "contact_washing"


class HardBounces(_PipelineTask):
    """``import_ready/hard_bounces/run_date=D`` (spec 3.2)."""

    job = "hard_bounces"


class LeadScoring(_PipelineTask):
    """``import_ready/lead_scoring/run_date=D`` (spec 3.3)."""

    job = "lead_scoring"


class CampaignResponses(_PipelineTask):
    """``import_ready/campaign_responses/run_date=D`` and its quarantine (spec 3.4).

    Not downstream of :class:`LeadScoring`: the job recomputes every contact's rating of the run itself
    (``import_ready/lead_scoring`` holds only the changed ones).
    """

    job = "campaign_responses"


SPARK_TASKS: tuple[type[SparkJobTask], ...] = (
    ContactsSnapshot, ContactWashing, HardBounces, LeadScoring, CampaignResponses)
