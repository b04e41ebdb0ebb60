"""Runs one load in its own process, so that a test can SIGKILL it at a known step.

    python -m tests.support.load_runner <pipeline> <YYYY-MM-DD> [--max-post-bytes N] [--transfer csv|json]

The lake is ``$SCC_LAKE_URL`` (with ``SCC_S3_ENDPOINT_URL`` and ``AWS_*`` for ``s3://``), Eloqua the ``ELOQUA_*``
variables, exactly as for the Luigi task. ``SCC_TEST_LOAD_PAUSE=<step>[:<n>]`` (read here only, never by the
product) makes the load stop after that step (``chunk:2`` = after the second data post; ``sync_posted``,
``sync_recorded``, ``sync_done``): the runner writes the step's details as JSON to
``$SCC_TEST_LOAD_PAUSE_FILE`` and sleeps until it is killed. Exit 0 and the receipt as JSON on stdout, or exit 1
with one line on stderr.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from collections.abc import Mapping
from typing import Any

from contract.objects import PAYLOADS
from eloqua.client import EloquaClient, RetryPolicy
from eloqua.errors import EloquaError
from eloqua.imports import LoadOptions, load_payload
from lake.errors import LakeError
from luigi_tasks.config import configured_lake

# Tests inject faults that a production policy would wait out for minutes.
FAST_RETRY = RetryPolicy(max_attempts=6, base_delay=0.05, max_delay=0.5, max_elapsed=60.0)


def pause_hook(spec: str, pause_file: str) -> Any:
    name, _, number = spec.partition(":")

    def on_step(step: str, details: Mapping[str, Any]) -> None:
        if step != name or (number and str(details.get("number")) != number):
            return
        with open(pause_file + ".tmp", "w") as out:
            json.dump({"step": step, **details}, out)
        os.replace(pause_file + ".tmp", pause_file)
        while True:  # until SIGKILL
            time.sleep(60)

    return on_step


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="load_runner")
    parser.add_argument("pipeline", choices=sorted(PAYLOADS))
    parser.add_argument("date")
    parser.add_argument("--max-post-bytes", type=int, default=None)
    parser.add_argument("--transfer", choices=["csv", "json"], default="csv")
    parser.add_argument("--sync-timeout", type=float, default=120.0)
    args = parser.parse_args(argv)
    options = LoadOptions(transfer=args.transfer, sync_timeout=args.sync_timeout,
                          **({"max_post_bytes": args.max_post_bytes} if args.max_post_bytes else {}))
    spec = os.environ.get("SCC_TEST_LOAD_PAUSE", "")
    on_step = pause_hook(spec, os.environ["SCC_TEST_LOAD_PAUSE_FILE"]) if spec else None
    try:
        with EloquaClient.from_env(retry=FAST_RETRY) as client:
            receipt = load_payload(client, configured_lake(), PAYLOADS[args.pipeline], args.date,
                                   options=options, on_step=on_step)
    except (EloquaError, LakeError) as exc:
        print(f"load_runner: {exc}", file=sys.stderr)
        return 1
    print(json.dumps(receipt))
    return 0


if __name__ == "__main__":
    sys.exit(main())
