"""``scc sandbox serve``: run the local Eloqua Bulk API 2.0 sandbox until SIGINT/SIGTERM.

    scc sandbox serve [--host 127.0.0.1] [--port 0] [--contacts 1000] [--seed 1] [--as-of 2026-11-27]
                      [--data-dir DIR] [--faults FILE] [--sync-delay 1.0] [--timezone America/New_York]
                      [--site S --user U --password P --client-id ID --client-secret SECRET]

Prints exactly one line, ``Eloqua sandbox listening on http://HOST:PORT``, then serves; exits 0 on a signal
and 2 on bad options. Credentials default to the documented local ones (see docs/sandbox.md) or SCC_SANDBOX_*
vars.
"""

from __future__ import annotations

import argparse
import json
import signal
import sys
import threading
from datetime import date
from pathlib import Path

from scc_sandbox.clock import DEFAULT_TIMEZONE, UnknownTimeZone, zone
from scc_sandbox.faults import FaultSpecError
from scc_sandbox.store import StoreError


class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # type: ignore[override]
        print(f"scc sandbox: {message}; run 'scc sandbox serve --help'", file=sys.stderr)
        raise SystemExit(2)


def _day(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"invalid date {text!r}: use YYYY-MM-DD") from None


def _non_negative_int(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"invalid number {text!r}") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"{text} is negative")
    return value


def _seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"invalid number of seconds {text!r}") from None
    if value < 0:
        raise argparse.ArgumentTypeError(f"{text} is negative")
    return value


def _timezone(text: str) -> str:
    try:
        zone(text)
    except UnknownTimeZone as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None
    return text


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="scc sandbox", description="Local Eloqua Bulk API 2.0 sandbox.")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)
    serve = sub.add_parser("serve", help="serve the sandbox until SIGINT/SIGTERM")
    serve.add_argument("--host", default="127.0.0.1")
    serve.add_argument("--port", type=_non_negative_int, default=0, help="0 picks a free port")
    serve.add_argument("--contacts", type=_non_negative_int, default=1000)
    serve.add_argument("--seed", type=int, default=1)
    serve.add_argument("--as-of", type=_day, default=date(2026, 11, 27), help="YYYY-MM-DD")
    serve.add_argument("--data-dir", type=Path, default=None, help="keep the store here (default: temporary)")
    serve.add_argument("--faults", type=Path, default=None, help="fault-injection JSON file")
    serve.add_argument("--sync-delay", type=_seconds, default=1.0, help="seconds pending and active")
    serve.add_argument(
        "--timezone",
        type=_timezone,
        default=DEFAULT_TIMEZONE,
        help="the instance's time zone custom dates are exported and imported in (IANA name)",
    )
    for name in ("site", "user", "password", "client-id", "client-secret"):
        serve.add_argument(f"--{name}", default=None)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Entry point for ``scc sandbox ...``; returns the exit code."""
    args = build_parser().parse_args(sys.argv[1:] if argv is None else argv)
    from scc_sandbox.server import start_sandbox

    faults = None
    if args.faults is not None:
        try:
            faults = json.loads(args.faults.read_text())
        except (OSError, json.JSONDecodeError) as exc:
            print(f"scc sandbox: cannot read --faults {args.faults}: {exc}", file=sys.stderr)
            return 2
    try:
        running = start_sandbox(
            host=args.host,
            port=args.port,
            contacts=args.contacts,
            seed=args.seed,
            as_of=args.as_of,
            data_dir=args.data_dir,
            faults=faults,
            sync_delay=args.sync_delay,
            site=args.site,
            user=args.user,
            password=args.password,
            client_id=args.client_id,
            client_secret=args.client_secret,
            timezone=args.timezone,
        )
    except (StoreError, FaultSpecError) as exc:
        print(f"scc sandbox: {exc}", file=sys.stderr)
        return 2
    except OSError as exc:
        print(
            f"scc sandbox: cannot listen on {args.host}:{args.port}: {exc.strerror or exc}", file=sys.stderr
        )
        return 2
    done = threading.Event()

    def on_signal(signum: int, frame: object) -> None:
        done.set()

    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGTERM, on_signal)
    print(f"Eloqua sandbox listening on {running.url}", flush=True)
    try:
        while not done.wait(0.5):
            pass
    finally:
        running.stop()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
