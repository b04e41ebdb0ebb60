"""The whole nightly run for one data day, as one Luigi wrapper task: the DAG at a glance.

    ExtractAll(D)  ->  ContactsSnapshot(D)  ->  ContactWashing(D), HardBounces(D), LeadScoring(D),
                                                 CampaignResponses(D)

Run it with ``scc nightly --date D`` or ``luigi --module luigi_tasks.nightly Nightly --date D``
(``--nightly-full-refresh`` re-exports every contact and rebuilds the snapshot).
"""

from __future__ import annotations

from collections.abc import Iterator

import luigi

from luigi_tasks import timings  # noqa: F401  (registers the handlers that record every task's timing)
from luigi_tasks.config import full_refresh
from luigi_tasks.extract import DataDayParameter, ExtractAll
from luigi_tasks.spark_tasks import CampaignResponses, ContactWashing, HardBounces, LeadScoring

PIPELINE_TASKS = (ContactWashing, HardBounces, LeadScoring, CampaignResponses)


class Nightly(luigi.WrapperTask):
    """Every dataset one night produces for data day ``date``: the raw zone, the snapshot, the four payloads."""

    date = DataDayParameter()

    def requires(self) -> Iterator[luigi.Task]:
        yield ExtractAll(date=self.date, full_refresh=full_refresh())
        for task in PIPELINE_TASKS:
            yield task(date=self.date)
