"""The ``scc`` command: one entry point for the sandbox, the stages and the demo.

    scc sandbox serve [--port 0 --contacts N ...]   the local Eloqua Bulk API 2.0 sandbox
    scc extract --date D [--full-refresh]           fill the raw zone for data day D
    scc nightly [--date D]                          the whole nightly run for D (default: yesterday, UTC)
    scc demo [--contacts N]                         the nightly run against the sandbox and a local lake

Common options of extract/nightly: --workers N, --local-scheduler (default: the luigid of the luigi config),
--lake URL, --full-refresh. Each wins over its SCC_* variable, which wins over the Luigi config, which wins over
the default (``luigi_tasks.config.SETTINGS``; the table in README.md, "Settings"). Exit codes follow the
[retcode] config section: 0 when every task succeeded, non-zero otherwise (a CronJob must see failures).
"""

from __future__ import annotations

import argparse
import datetime as dt
import logging
import os
import sys
from collections.abc import Sequence
from pathlib import Path

from contract.arguments import OneLineParser, UsageError, data_day

REPO_ROOT = Path(__file__).resolve().parents[1]
EXIT_USAGE = 2


def _yesterday() -> dt.date:
    return dt.datetime.now(dt.UTC).date() - dt.timedelta(days=1)


def configure_environment(lake: str | None = None, *, full_refresh: bool | None = None) -> None:
    """Point Luigi at the project's config unless the caller already chose one, and pin the flags given on
    the command line, which win over the environment and the config (``luigi_tasks.config.resolve``)."""
    os.environ.setdefault("LUIGI_CONFIG_PATH", str(REPO_ROOT / "conf" / "luigi" / "local.cfg"))
    os.environ.setdefault("AWS_REQUEST_CHECKSUM_CALCULATION", "when_required")
    os.environ.setdefault("AWS_RESPONSE_CHECKSUM_VALIDATION", "when_required")
    from lake.paths import LakeUrlError, normalize
    from luigi_tasks.config import pin_flags

    try:
        pin_flags(lake=normalize(lake) if lake else None, full_refresh=full_refresh or None)
    except LakeUrlError as exc:
        raise UsageError(str(exc)) from None


def run_options(args: argparse.Namespace) -> tuple[int, bool]:
    """``(workers, local_scheduler)`` by the one precedence: flag > SCC_* variable > [core] > default."""
    from luigi_tasks.config import ConfigError, pin_flags, resolve_bool, resolve_int

    pin_flags(workers=args.workers, local_scheduler=args.local_scheduler or None)
    try:
        return resolve_int("workers"), resolve_bool("local_scheduler")
    except ConfigError as exc:
        raise UsageError(str(exc)) from None


def preflight() -> None:
    """Check credentials, Eloqua and the lake before scheduling anything, so the usual mistakes (missing or
    wrong credentials, an unreachable host, an unwritable lake) end in one line instead of a failed DAG."""
    from eloqua.client import EloquaClient
    from eloqua.errors import EloquaError
    from lake.errors import LakeError
    from luigi_tasks.config import ConfigError, configured_lake

    eloqua_log = logging.getLogger("eloqua")
    level = eloqua_log.level
    if not logging.getLogger().isEnabledFor(logging.DEBUG):
        eloqua_log.setLevel(logging.ERROR)  # retry chatter would bury the one line that matters
    try:
        with EloquaClient.from_env() as client:
            client.discover()
        configured_lake().check()
    except (EloquaError, LakeError, ConfigError) as exc:
        raise UsageError(str(exc)) from None
    finally:
        eloqua_log.setLevel(level)


def run_tasks(tasks: Sequence[object], *, workers: int, local_scheduler: bool) -> int:
    """Run tasks with Luigi and turn the outcome into the configured exit code."""
    import luigi
    from luigi.execution_summary import LuigiStatusCode
    from luigi.retcodes import retcode

    if logging.getLogger().level > logging.INFO:
        logging.getLogger().setLevel(logging.INFO)
    # Our root handler prints luigi's records; letting luigi add its own would print each line twice.
    luigi.configuration.get_config().set("core", "no_configure_logging", "true")
    codes = retcode()
    try:
        result = luigi.build(list(tasks), workers=workers, local_scheduler=local_scheduler,
                             detailed_summary=True)
    except Exception as exc:  # luigi itself failed (not a task): one line, its own exit code
        first = (str(exc).strip().splitlines() or [""])[0]
        print(f"scc: luigi stopped with {type(exc).__name__}: {first}", file=sys.stderr)
        return codes.unhandled_exception or 40
    status = result.status
    if status in (LuigiStatusCode.SUCCESS, LuigiStatusCode.SUCCESS_WITH_RETRY):
        if all(task.complete() for task in tasks if isinstance(task, luigi.Task)):
            return 0
        # "Success" with the goal still incomplete: another worker of the scheduler holds the running tasks.
        print("scc: tasks of this run are being run by another scc process of the same scheduler; "
              "rerun once it has finished", file=sys.stderr)
        return codes.already_running or 10
    print(result.one_line_summary, file=sys.stderr)
    if status == LuigiStatusCode.MISSING_EXT:
        return codes.missing_data or 20
    if status == LuigiStatusCode.NOT_RUN:
        return codes.not_run or 25
    if status == LuigiStatusCode.SCHEDULING_FAILED:
        return codes.scheduling_error or 35
    return codes.task_failed or 30


def _add_run_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--workers", type=int, default=None,
                        help="Luigi worker processes (default: $SCC_WORKERS, [core] workers, 2)")
    parser.add_argument("--local-scheduler", action="store_true", default=None,
                        help="no luigid: schedule in this process (default: $SCC_LOCAL_SCHEDULER, "
                             "[core] local_scheduler, false)")
    parser.add_argument("--lake", help="lake URL, file:///path or s3://bucket/prefix (default: $SCC_LAKE_URL, "
                                       "[lake] url, file://<repo>/var/lake)")


def build_parser() -> argparse.ArgumentParser:
    parser = OneLineParser(prog="scc", description="Nightly marketing-ops pipelines, Eloqua <-> Spark.")
    parser.add_argument("--verbose", action="store_true", help="debug logging and stack traces")
    commands = parser.add_subparsers(dest="command", required=True)

    commands.add_parser("sandbox", help="the local Eloqua Bulk API 2.0 sandbox", add_help=False)

    extract = commands.add_parser("extract", help="fill the raw zone for one data day")
    extract.add_argument("--date", type=data_day, required=True, help="data day D (YYYY-MM-DD)")
    extract.add_argument("--full-refresh", action="store_true", help="re-export every contact")
    _add_run_options(extract)

    nightly = commands.add_parser("nightly", help="the whole nightly run for one data day")
    nightly.add_argument("--date", type=data_day, default=None, help="data day D (default: yesterday, UTC)")
    nightly.add_argument("--full-refresh", action="store_true",
                         help="re-export every contact and rebuild the snapshot and every payload of the day")
    _add_run_options(nightly)

    demo = commands.add_parser("demo", help="the nightly run against the sandbox and a local lake")
    demo.add_argument("--contacts", type=int, default=3000, help="sandbox contacts (default 3000)")
    demo.add_argument("--date", type=data_day, default=dt.date(2026, 11, 27), help="last data day of the demo")
    demo.add_argument("--lake", default=str(REPO_ROOT / "var" / "demo" / "lake"), help="local lake folder")
    demo.add_argument("--workers", type=int, default=2)
    return parser


def _run_development_command(name: str, argv: list[str]) -> int:
    """Run a command that a development extra provides through the ``scc.commands`` entry point group.

    The sandbox is such an extra: production code never imports it (import-linter forbids it), so the production
    image holds no fake Eloqua, and ``scc sandbox`` says what to install where the extra is missing.
    """
    from importlib.metadata import entry_points

    found = entry_points(group="scc.commands", name=name)
    if not found:
        print(f"scc: '{name}' is a development command and is not installed here: "
              "install it with 'pip install -e ./sandbox' from the repository (make test and make demo do)",
              file=sys.stderr)
        return EXIT_USAGE
    command = next(iter(found)).load()
    return int(command(argv) or 0)


def main(argv: Sequence[str] | None = None) -> int:
    args_list = list(sys.argv[1:] if argv is None else argv)
    if args_list[:1] == ["sandbox"]:
        return _run_development_command("sandbox", args_list[1:])
    try:
        args = build_parser().parse_args(args_list)
    except UsageError as exc:
        print(exc, file=sys.stderr)
        return EXIT_USAGE
    # Quiet until the tasks run, so that a usage mistake prints exactly one line.
    logging.basicConfig(level=logging.DEBUG if args.verbose else logging.WARNING,
                        format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    try:
        if args.command in ("extract", "nightly"):
            configure_environment(args.lake, full_refresh=args.full_refresh)
            workers, local_scheduler = run_options(args)
            preflight()
            from luigi_tasks.config import full_refresh

            if args.command == "extract":
                from luigi_tasks.extract import ExtractAll

                task: object = ExtractAll(date=args.date, full_refresh=full_refresh())
            else:
                from luigi_tasks.nightly import Nightly

                task = Nightly(date=args.date or _yesterday())
            return run_tasks([task], workers=workers, local_scheduler=local_scheduler)
        if args.command == "demo":
            from luigi_tasks.demo import run_demo

            return run_demo(contacts=args.contacts, last_day=args.date, lake_dir=Path(args.lake),
                            workers=args.workers)
    except UsageError as exc:
        print(f"scc: {exc}", file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        return 130
    finally:
        from luigi_tasks.config import clear_flags

        clear_flags()  # flags belong to this command, not to the next one run in the same process
    return EXIT_USAGE


if __name__ == "__main__":
    raise SystemExit(main())
