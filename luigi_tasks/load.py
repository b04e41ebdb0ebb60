"""Load stage: each gated payload goes into Eloqua with one Bulk import, exactly once in effect.

    luigi --module luigi_tasks.load LoadPayload --pipeline lead_scoring --date 2026-11-27

``LoadPayload(pipeline, date)`` requires the quality gate of ``(pipeline, D)`` (a payload never goes out
ungated), holds one unit of the ``eloqua_bulk_syncs`` resource like every extract task, and makes one call into
:func:`eloqua.imports.load_payload`, which streams ``import_ready/<pipeline>/run_date=D`` into the import
definition ``scc <pipeline> <D>``, runs one sync, writes Eloqua's rejects to ``rejects/<pipeline>/run_date=D``
and, last, the receipt ``loaded/<pipeline>/run_date=D/receipt.json``: the task's output. A rerun after a kill or
a failure resumes from ``_state/load/...`` (see :mod:`eloqua.imports`); a rerun with the receipt does nothing.

Knobs live in ``[load]``; the instance's time zone in ``[eloqua] timezone`` (``ELOQUA_TIMEZONE``). Eloqua
credentials come only from ``ELOQUA_*`` variables.
"""

from __future__ import annotations

import luigi

from contract.objects import PAYLOADS, PIPELINES
from eloqua.client import MAX_IMPORT_POST_BYTES, EloquaClient
from eloqua.imports import MAX_POSTS_PER_SYNC, LoadOptions, load_payload
from luigi_tasks.extract import RESOURCE
from luigi_tasks.redaction import RedactedFailure
from luigi_tasks.targets import DatasetTarget, FileTarget, OnLake


class load(luigi.Config):  # luigi names the config section after the class
    """``[load]``: how payloads are sent (none of these changes what Eloqua ends up holding)."""

    transfer = luigi.ChoiceParameter(default="csv", choices=["csv", "json"], var_type=str,
                                     description="body of the data posts: csv or json")
    max_post_bytes = luigi.IntParameter(default=MAX_IMPORT_POST_BYTES,
                                        description="bytes per data post (Eloqua refuses more than 32 MB)")
    max_posts = luigi.IntParameter(default=MAX_POSTS_PER_SYNC,
                                   description="data posts per sync (Eloqua refuses the 501st)")
    batch_rows = luigi.IntParameter(default=10_000, description="payload rows read and serialised at once")
    sync_timeout = luigi.FloatParameter(default=6 * 3600.0, description="seconds an import sync may take")
    data_retention = luigi.Parameter(default="P7D", description="how long Eloqua keeps unsynced staged data")


class PayloadReady(OnLake, luigi.ExternalTask):
    """The ``import_ready`` payload of ``(pipeline, D)`` as its Spark job published it (``_SUCCESS``)."""

    pipeline = luigi.ChoiceParameter(choices=PIPELINES, var_type=str)
    date = luigi.DateParameter()

    def output(self) -> DatasetTarget:
        return DatasetTarget(self.lake, self.lake.layout.import_ready(self.pipeline, self.date))


class LoadPayload(RedactedFailure, OnLake, luigi.Task):
    """One payload into Eloqua; done once its receipt exists."""

    pipeline = luigi.ChoiceParameter(choices=PIPELINES, var_type=str)
    date = luigi.DateParameter()
    approve_initial_load = luigi.BoolParameter(
        default=False, significant=False,
        description="passed to the gate: let a pipeline's first payload through its row-count guard")

    resources = {RESOURCE: 1}

    def requires(self) -> luigi.Task:
        # The quality gate; imported here so that this module loads while the gate is being built.
        from luigi_tasks.gate import GatePayload  # type: ignore[import-not-found, unused-ignore]

        return GatePayload(pipeline=self.pipeline, date=self.date, approve_initial_load=self.approve_initial_load,
                           target_lake=self.target_lake)

    def output(self) -> FileTarget:
        return FileTarget(self.lake, self.lake.layout.loaded_receipt(self.pipeline, self.date))

    def run(self) -> None:
        config = load()
        options = LoadOptions(transfer="json" if config.transfer == "json" else "csv",
                              max_post_bytes=config.max_post_bytes,
                              max_posts=config.max_posts, batch_rows=config.batch_rows,
                              sync_timeout=config.sync_timeout, data_retention=config.data_retention)
        with EloquaClient.from_env() as client:
            load_payload(client, self.lake, PAYLOADS[self.pipeline], self.date, options=options)


class LoadAll(OnLake, luigi.WrapperTask):
    """Every pipeline's load of day D."""

    date = luigi.DateParameter()
    approve_initial_load = luigi.BoolParameter(default=False, significant=False)

    def requires(self) -> list[LoadPayload]:
        return [LoadPayload(pipeline=p, date=self.date, approve_initial_load=self.approve_initial_load,
                            target_lake=self.target_lake) for p in PIPELINES]
