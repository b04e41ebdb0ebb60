"""Great Expectations suites and the quality gate (docs/data-contract.md section 4).

The next stage: not built yet. The payloads it will check are declared in ``contract.objects.PAYLOADS`` and
its zones in ``lake.paths.LakeLayout.quality``/``data_docs``.
"""
