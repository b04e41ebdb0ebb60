"""The pure PySpark library of the business rules (docs/data-contract.md sections 2 and 3): ``DataFrame ->
DataFrame`` transforms and ``Column -> Column`` helpers, no I/O.

``schemas`` (Spark types from the contract), ``columns`` (normalisation, null-safe comparison, UTC windows),
``staging`` (conform, dedupe, contacts snapshot), ``washing`` (3.1), ``hard_bounces`` (3.2), ``lead_scoring``
(3.3), ``campaign_responses`` (3.4). The spark-submit entry points that read and write the lake are in
``jobs/``.
"""
