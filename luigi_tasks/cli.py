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
    check_config_files()  # before luigi is imported: importing it parses the file
    from lake.paths import LakeUrlError, normalize
    from luigi_tasks.config import pin_flags

    try:
        pin_flags(lake=normalize(lake) if lake else None, full_refresh=full_refresh or None)
    except LakeUrlError as exc:
        raise UsageError(str(exc)) from None


def check_config_files() -> None:
    """Refuse, in one line, a ``LUIGI_CONFIG_PATH`` file that is missing or malformed: luigi itself skips a
    missing file with a warning (and with it the sync cap and the exit codes) and dies in a traceback on a bad
    one."""
    import configparser

    for name in [p for p in os.environ.get("LUIGI_CONFIG_PATH", "").split(os.pathsep) if p]:
        path = Path(name)
        if not path.is_file():
            raise UsageError(f"LUIGI_CONFIG_PATH names {name}, which does not exist: fix the path or unset it")
        if path.suffix == ".toml":
            continue  # luigi's TOML parser reports its own errors
        try:
            configparser.ConfigParser(interpolation=None).read(path, encoding="utf-8")
        except configparser.Error as exc:
            first = " ".join(str(exc).split())
            raise UsageError(f"the Luigi config {name} is malformed ({first}): fix it") from None


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

    check_settings()
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


def check_settings() -> None:
    """Out-of-range knobs ([extract] page_size, concurrency, ...) in one line, before anything touches Eloqua."""
    from eloqua.errors import EloquaError
    from luigi_tasks.extract import extract

    try:
        extract().export_settings()
    except (EloquaError, ValueError) as exc:
        raise UsageError(str(exc)) from None


def check_demo_options(args: argparse.Namespace) -> None:
    """``scc demo`` options out of range in one line, before the sandbox starts."""
    if args.contacts < 1:
        raise UsageError(f"--contacts {args.contacts}: the sandbox needs at least 1 contact")
    if args.workers < 1:
        raise UsageError(f"--workers {args.workers}: run at least 1 Luigi worker")


def check_days(first: dt.date, last: dt.date | None = None) -> None:
    """No future day, nothing before ``[nightly] earliest_date``: one line before anything is started."""
    from luigi_tasks.config import ConfigError, check_data_days

    try:
        check_data_days(first, last or first)
    except ConfigError as exc:
        raise UsageError(str(exc)) from None


class OneLineExceptions(logging.Filter):
    """A record that carries an exception prints as one line: its message and the exception's first line.

    Luigi logs a failed task (and a failed ``complete()``) with its stack trace: an S3 outage in the middle of
    a run printed one traceback per task it failed. Our errors (LakeError, EloquaError, ...) are one
    actionable line already; the stack trace is for ``--verbose``, where this filter is not installed. The
    worker processes are forks: they inherit the root handler and its filters.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        error = record.exc_info[1] if record.exc_info else None
        if error is not None:
            from luigi_tasks.redaction import redact

            try:
                message = record.getMessage()
            except Exception:  # a record whose args do not fit its format: its format alone
                message = str(record.msg)
            first = (str(error).strip().splitlines() or [""])[0]
            record.msg = f"{message}: {type(error).__name__}: {redact(first)}"
            record.args, record.exc_info, record.exc_text = None, None, None
        return True


def run_tasks(tasks: Sequence[object], *, workers: int, local_scheduler: bool, scheduler_url: str = "",
              results: list[object] | None = None) -> int:
    """Run tasks with Luigi and turn the outcome into the configured exit code (Luigi's result is appended
    to ``results`` when given: the caller reads which tasks failed)."""
    import luigi
    from luigi.execution_summary import LuigiStatusCode
    from luigi.retcodes import retcode

    root = logging.getLogger()
    if not root.isEnabledFor(logging.DEBUG):  # stack traces are for --verbose (scc --help says so)
        for handler in root.handlers:
            if not any(isinstance(f, OneLineExceptions) for f in handler.filters):
                handler.addFilter(OneLineExceptions())
    if root.level > logging.INFO:
        root.setLevel(logging.INFO)
    # Our root handler prints luigi's records; letting luigi add its own would print each line twice.
    luigi.configuration.get_config().set("core", "no_configure_logging", "true")
    codes = retcode()
    try:
        where = {"scheduler_url": scheduler_url} if scheduler_url and not local_scheduler else {}
        result = luigi.build(list(tasks), workers=workers, local_scheduler=local_scheduler,
                             detailed_summary=True, **where)
    except Exception as exc:  # luigi itself failed (not a task): one line, its own exit code
        first = (str(exc).strip().splitlines() or [""])[0]
        print(f"scc: luigi stopped with {type(exc).__name__}: {first}", file=sys.stderr)
        return codes.unhandled_exception or 40
    if results is not None:
        results.append(result)
    status = result.status
    if _run_by_another_worker(result):
        print("scc: tasks of this run are being run by another scc process of the same scheduler (same lake, "
              "same day); rerun once it has finished", file=sys.stderr)
        return codes.already_running or 10
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


def _run_by_another_worker(result: object) -> bool:
    """Whether luigi found tasks of this run held by another worker (its ``run_by_other_worker`` outcome,
    which [retcode] already_running names and luigi.build's status does not report)."""
    from luigi.execution_summary import _summary_dict

    worker = getattr(result, "worker", None)
    if worker is None:
        return False
    try:
        sets = _summary_dict(worker)
    except Exception:  # a summary that cannot be computed is not evidence of another worker
        return False
    return bool(sets.get("run_by_other_worker") or sets.get("upstream_run_by_other_worker"))


def _add_run_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--workers", type=int, default=None,
                        help="Luigi worker processes (default: $SCC_WORKERS, [core] workers, 2)")
    parser.add_argument("--local-scheduler", action="store_true", default=None,
                        help="no luigid: schedule in this process (default: $SCC_LOCAL_SCHEDULER, "
                             "[core] local_scheduler, false)")
    parser.add_argument("--lake", help="lake URL, file:///path or s3://bucket/prefix (default: $SCC_LAKE_URL, "
                                       "[lake] url, file://<repo>/var/lake)")


def build_parser() -> argparse.ArgumentParser:
    parser = OneLineParser(prog="scc", description="Nightly marketing-ops pipelines, Eloqua <-> Spark.",
                           epilog=EXAMPLES, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--verbose", action="store_true", help="debug logging and stack traces")
    commands = parser.add_subparsers(dest="command", required=True)

    commands.add_parser("sandbox", help="the local Eloqua Bulk API 2.0 sandbox", add_help=False)

    extract = commands.add_parser("extract", help="fill the raw zone for one data day")
    extract.add_argument("--date", type=data_day, required=True, help="data day D (YYYY-MM-DD)")
    extract.add_argument("--full-refresh", action="store_true", help="re-export every contact")
    _add_run_options(extract)

    add_operator_commands(commands)

    demo = commands.add_parser("demo", help="the nightly run against the sandbox and a local lake")
    demo.add_argument("--contacts", type=int, default=20_000, help="sandbox contacts (default 20000)")
    demo.add_argument("--date", type=data_day, default=dt.date(2026, 11, 27), help="last data day of the demo")
    demo.add_argument("--lake", default=str(REPO_ROOT / "var" / "demo" / "lake"), help="local lake folder")
    demo.add_argument("--workers", type=int, default=2)
    return parser


# --- the operator's commands: nightly, backfill, status, report ----------------------------------------------

OPERATOR_COMMANDS = ("nightly", "backfill", "status", "report")
EXAMPLES = """examples:
  scc sandbox serve --port 8765 --contacts 1000        a local Eloqua Bulk API 2.0 sandbox
  scc extract --date 2026-11-27 --local-scheduler      the raw zone of one data day
  scc nightly --date 2026-11-27 --approve-initial-load extract, Spark, gate and load of one night
  scc nightly --scheduler-url http://luigid:8082       yesterday's night through a central luigid
  scc backfill --start 2026-11-20 --end 2026-11-26     several nights, in order, each finished first
  scc status --date 2026-11-27                         each pipeline's stages: done, failed or pending
  scc report --date 2026-11-27                         (re)write the night's HTML report, print its path
  scc demo                                             two nights against the sandbox (make demo)
exit codes: README.md, "Exit codes"."""


def add_operator_commands(commands: argparse._SubParsersAction) -> None:
    from contract.objects import PIPELINES

    def night_options(command: argparse.ArgumentParser) -> None:
        command.add_argument("--approve-initial-load", action="store_true", default=None,
                             help="let each pipeline's first load through its gate (default: "
                                  "$SCC_APPROVE_INITIAL_LOAD, [nightly] approve_initial_load, false)")
        command.add_argument("--scheduler-url", default=None,
                             help="a central luigid, e.g. http://luigid:8082 (default: $SCC_SCHEDULER_URL, "
                                  "[core] scheduler_url, else [core] default_scheduler_host/port)")
        _add_run_options(command)

    nightly = commands.add_parser("nightly", help="extract, Spark, gate and load of one data day "
                                                  "(scc nightly --date 2026-11-27)")
    nightly.add_argument("--date", type=data_day, default=None, help="data day D (default: yesterday, UTC)")
    nightly.add_argument("--full-refresh", action="store_true", default=None,
                         help="re-export every contact and rebuild the snapshot and every payload of the day")
    night_options(nightly)

    backfill = commands.add_parser("backfill", help="nights D1..D2 in order, each finished before the next "
                                                    "(scc backfill --start 2026-11-20 --end 2026-11-26)")
    backfill.add_argument("--start", type=data_day, required=True, help="first data day (YYYY-MM-DD)")
    backfill.add_argument("--end", type=data_day, required=True, help="last data day, inclusive (YYYY-MM-DD)")
    night_options(backfill)

    status = commands.add_parser("status", help="each pipeline's stages of a day: done, failed or pending "
                                                "(scc status --date 2026-11-27)")
    status.add_argument("--date", type=data_day, required=True, help="data day D (YYYY-MM-DD)")
    status.add_argument("--pipeline", action="append", choices=PIPELINES, default=None,
                        help="only this pipeline (repeatable; default: all four)")
    status.add_argument("--lake", help="lake URL (default: $SCC_LAKE_URL, [lake] url, file://<repo>/var/lake)")

    report = commands.add_parser("report", help="write a night's HTML report and print its path "
                                                "(scc report --date 2026-11-27)")
    report.add_argument("--date", type=data_day, required=True, help="data day D (YYYY-MM-DD)")
    report.add_argument("--lake", help="lake URL (default: $SCC_LAKE_URL, [lake] url, file://<repo>/var/lake)")


def _scheduler_url(local_scheduler: bool) -> str:
    """The central luigid of this run ('' for the [core] default host/port), checked to answer: a wrong URL
    is one line now, not Luigi's retries later."""
    import urllib.parse

    import requests

    from luigi_tasks.config import resolve

    url = resolve("scheduler_url").strip().rstrip("/")
    if not url:
        return ""
    if local_scheduler:
        raise UsageError("--scheduler-url and --local-scheduler exclude each other: choose one")
    parts = urllib.parse.urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise UsageError(f"scheduler URL {url!r} is not http(s)://host:port")
    try:
        requests.get(f"{url}/api/ping", timeout=10)  # any HTTP answer, even an error status, is luigid's
    except requests.RequestException as exc:
        reason = type(exc).__name__.replace("Error", " error").strip()
        raise UsageError(f"no luigid answers at {url}: {reason}") from None
    return url


def _run_night(day: dt.date, *, workers: int, local_scheduler: bool, scheduler_url: str) -> int:
    """One ``Nightly(day)`` build; then, whatever the outcome, one line per pipeline that did not load and
    the night's report written and its path printed."""
    from luigi.retcodes import retcode

    from luigi_tasks.nightly import Nightly, pipeline_failures, write_night_report

    results: list[object] = []
    code = EXIT_USAGE
    try:
        code = run_tasks([Nightly(date=day)], workers=workers, local_scheduler=local_scheduler,
                         scheduler_url=scheduler_url, results=results)
    finally:
        try:
            failures = pipeline_failures(results[0] if results else None, day)
        except Exception as exc:  # the lake went away: the build's own exit code still stands
            failures = {}
            print(f"scc: could not tell which pipelines loaded: {' '.join(str(exc).split())}", file=sys.stderr)
        for line in failures.values():
            print(f"scc: {line}", file=sys.stderr)
        try:
            print(f"report: {write_night_report(day)}", flush=True)
        except Exception as exc:  # no data for the day, or an unwritable lake: say so, keep the exit code
            print(f"scc: no report for {day.isoformat()}: {' '.join(str(exc).split())}", file=sys.stderr)
    if code == 0 and failures:
        code = retcode().task_failed or 30
    return code


def run_operator_command(args: argparse.Namespace) -> int:
    from contract.objects import PIPELINES
    from lake.errors import LakeError
    from luigi_tasks.config import ConfigError, configured_lake, pin_flags

    if args.command in ("status", "report"):
        configure_environment(args.lake)
        try:
            if args.command == "report":
                from luigi_tasks.nightly import write_night_report

                print(write_night_report(args.date))
                return 0
            from luigi_tasks.operator import format_status, status, status_exit_code

            stages = status(configured_lake(), args.date, args.pipeline or PIPELINES)
        except (LakeError, ConfigError, ValueError) as exc:
            raise UsageError(" ".join(str(exc).split())) from None
        print(format_status(stages, args.date))
        return status_exit_code(stages)

    if args.command == "backfill":
        from luigi_tasks.operator import days

        try:
            days(args.start, args.end)
        except ValueError as exc:
            raise UsageError(str(exc)) from None
    configure_environment(args.lake, full_refresh=getattr(args, "full_refresh", None))
    pin_flags(approve_initial_load=args.approve_initial_load, scheduler_url=args.scheduler_url)
    workers, local_scheduler = run_options(args)
    scheduler_url = _scheduler_url(local_scheduler)
    if args.command == "nightly":
        check_days(args.date or _yesterday())
    else:
        check_days(args.start, args.end)
    preflight()
    def night(day: dt.date) -> int:
        return _run_night(day, workers=workers, local_scheduler=local_scheduler, scheduler_url=scheduler_url)

    if args.command == "nightly":
        return night(args.date or _yesterday())
    from luigi_tasks.operator import backfill

    return backfill(args.start, args.end, night, say=lambda line: print(line, flush=True))


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
    from luigi_tasks.redaction import install as redact_logs
    from luigi_tasks.redaction import redact

    redact_logs()  # secrets by value, --verbose included
    try:
        if args.command in OPERATOR_COMMANDS:
            return run_operator_command(args)
        if args.command == "extract":
            configure_environment(args.lake, full_refresh=args.full_refresh)
            workers, local_scheduler = run_options(args)
            check_days(args.date)
            preflight()
            from luigi_tasks.config import full_refresh
            from luigi_tasks.extract import ExtractAll

            task: object = ExtractAll(date=args.date, full_refresh=full_refresh())
            return run_tasks([task], workers=workers, local_scheduler=local_scheduler)
        if args.command == "demo":
            check_demo_options(args)
            from luigi_tasks.demo import run_demo

            return run_demo(contacts=args.contacts, last_day=args.date, lake_dir=Path(args.lake),
                            workers=args.workers)
    except UsageError as exc:
        print(redact(f"scc: {exc}"), file=sys.stderr)
        return EXIT_USAGE
    except KeyboardInterrupt:
        return 130
    finally:
        if "luigi_tasks.config" in sys.modules:  # not imported: no flag pinned (and luigi may not load)
            sys.modules["luigi_tasks.config"].clear_flags()  # flags belong to this command, not the next
    return EXIT_USAGE


if __name__ == "__main__":
    raise SystemExit(main())
