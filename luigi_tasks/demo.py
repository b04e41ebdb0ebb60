"""``make demo`` / ``scc demo``: two nights of the whole loop against the local Eloqua sandbox.

What a newcomer sees: the sandbox (about 20,000 contacts), night 1 (a full export, the 90-day lookback, the four
payloads, their gates, and the loads, approved as the pipelines' initial loads), night 2 (an increment that
carries only the changes), then a few contacts before and after read back through the Bulk API (an export
through :mod:`eloqua`, as any client would, not the sandbox's admin routes), both nights' payload sizes, and the
report and Data Docs paths, last.

Everything lives under ``var/demo/`` and is reused by the next ``make demo``: the sandbox's store (generated
once), the lake (every task already done is skipped, so a second run only prints) and the "before" values read
before the first load (``before.json``).

``scc demo`` supervises: the demo runs in a child process that leads its own process group (the sandbox, the
Luigi workers, spark-submit and its JVM all belong to it). SIGINT, SIGTERM or SIGHUP on ``scc demo`` stop that
whole group; and the child gets SIGTERM when ``scc demo`` itself dies (SIGKILL included), so nothing outlives
the demo.
"""

from __future__ import annotations

import ctypes
import datetime as dt
import json
import logging
import os
import secrets
import signal
import subprocess
import sys
import time
import warnings
from pathlib import Path
from typing import Any

from contract.objects import PIPELINES

SANDBOX_SITE = "SCCDemo"
SANDBOX_USER = "scc.demo"
SANDBOX_SEED = 2026
READY_PREFIX = "Eloqua sandbox listening on "
SAMPLE = 5
FIELDS = {"EmailAddress": "{{Contact.Field(C_EmailAddress)}}", "Country": "{{Contact.Field(C_Country)}}",
          "JobLevel": "{{Contact.Field(C_Job_Level1)}}", "LeadRating": "{{Contact.Field(C_Lead_Rating1)}}"}
_PR_SET_PDEATHSIG = 1
STOP_GRACE_SECONDS = 10.0


# --- supervision: the demo in its own process group ----------------------------------------------------------


def _die_with_parent() -> None:
    """In the child, before exec: SIGTERM when the supervising ``scc demo`` dies, however it dies (Linux)."""
    try:
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)
    except OSError:
        pass  # not Linux: the signal handler of the supervisor still stops the group


def stop_group(pgid: int, grace: float = STOP_GRACE_SECONDS) -> None:
    """SIGTERM the process group, then SIGKILL whatever is left of it after ``grace`` seconds."""
    try:
        os.killpg(pgid, signal.SIGTERM)
    except ProcessLookupError:
        return
    deadline = time.monotonic() + grace
    while time.monotonic() < deadline:
        if not _group_alive(pgid):
            return
        time.sleep(0.2)
    try:
        os.killpg(pgid, signal.SIGKILL)
    except ProcessLookupError:
        pass


def _group_alive(pgid: int) -> bool:
    try:
        os.killpg(pgid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    # Zombies still count for killpg; only processes that are not zombies keep the group alive.
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        if int(fields[2]) == pgid and fields[0] != "Z":
            return True
    return False


def run_demo(contacts: int, last_day: dt.date, lake_dir: Path, workers: int) -> int:
    """Supervise the demo: run it in its own process group and stop that group on a signal."""
    child = subprocess.Popen(
        [sys.executable, "-m", "luigi_tasks.demo", "--contacts", str(contacts), "--date", last_day.isoformat(),
         "--lake", str(lake_dir), "--workers", str(workers)],
        start_new_session=True, preexec_fn=_die_with_parent,  # only prctl: safe between fork and exec
    )
    stopped: list[int] = []

    def stop(signum: int, _frame: Any) -> None:
        stopped.append(signum)
        stop_group(child.pid)

    previous = {s: signal.signal(s, stop) for s in (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)}
    try:
        code = child.wait()
    finally:
        for s, handler in previous.items():
            signal.signal(s, handler)
        if _group_alive(child.pid):
            stop_group(child.pid)
    if stopped:
        print(f"\nscc demo: stopped by {signal.Signals(stopped[0]).name}; the sandbox and Spark are stopped too",
              file=sys.stderr)
        return 128 + stopped[0]
    return code


# --- the demo itself (the child) -------------------------------------------------------------------------------


_DEMO_PID: list[int] = []


def _on_sigterm(signum: int, _frame: Any) -> None:
    if os.getpid() not in _DEMO_PID:
        # A Luigi worker forked from the demo inherits this handler; Luigi stops its workers with SIGTERM,
        # which must end that worker only, as it would without the handler.
        signal.signal(signum, signal.SIG_DFL)
        os.kill(os.getpid(), signum)
        return
    # The supervisor died or asked us to stop: take the whole group (sandbox, workers, Spark) down with us.
    signal.signal(signal.SIGTERM, signal.SIG_IGN)
    try:
        os.killpg(os.getpgrp(), signal.SIGTERM)
    finally:
        os._exit(143)


def start_sandbox(contacts: int, as_of: dt.date, data_dir: Path, password: str) -> tuple[subprocess.Popen, str]:
    """The sandbox as a child process; returns it and its URL once it prints its listening line."""
    data_dir.mkdir(parents=True, exist_ok=True)
    env = {**os.environ, "SCC_SANDBOX_SITE": SANDBOX_SITE, "SCC_SANDBOX_USER": SANDBOX_USER,
           "SCC_SANDBOX_PASSWORD": password}
    proc = subprocess.Popen(
        [sys.executable, "-m", "luigi_tasks.cli", "sandbox", "serve", "--host", "127.0.0.1", "--port", "0",
         "--contacts", str(contacts), "--seed", str(SANDBOX_SEED), "--as-of", as_of.isoformat(),
         "--data-dir", str(data_dir), "--sync-delay", "0.2"],
        env=env, stdout=subprocess.PIPE, text=True,
    )
    assert proc.stdout is not None
    line = proc.stdout.readline().strip()
    if not line.startswith(READY_PREFIX):
        proc.kill()
        raise RuntimeError(f"the sandbox did not start (exit status {proc.wait()}); see its messages above")
    return proc, line[len(READY_PREFIX):]


def dataset_rows(url: str) -> int | None:
    """Rows of a published local dataset (Parquet footers only), or None when it is not complete."""
    import pyarrow.dataset as ds

    from lake.paths import local_path

    folder = Path(local_path(url))
    if not (folder / "_SUCCESS").exists():
        return None
    return ds.dataset(str(folder), format="parquet", exclude_invalid_files=True).count_rows()


def sample_emails(import_ready_urls: list[str], count: int = SAMPLE) -> list[str]:
    """Addresses of contacts the first night changes in several pipelines at once (the most visible)."""
    import pyarrow.dataset as ds

    from lake.paths import local_path

    seen: dict[str, int] = {}
    for url in import_ready_urls:
        table = ds.dataset(local_path(url), format="parquet", exclude_invalid_files=True).to_table(
            columns=["EmailAddress"])
        for email in table.column("EmailAddress").to_pylist():
            if email:
                seen[email] = seen.get(email, 0) + 1
    return sorted(seen, key=lambda e: (-seen[e], e))[:count]


def read_contacts(emails: list[str]) -> dict[str, dict[str, str]]:
    """Country, job level and lead rating of ``emails``, read back with one small Bulk API export."""
    from eloqua.client import EloquaClient

    where = " OR ".join(f"'{{{{Contact.Field(C_EmailAddress)}}}}' = '{e}'" for e in emails)
    with EloquaClient.from_env() as client:
        definition = client.create_export("contacts", {"name": f"scc demo read-back {time.time_ns()}",
                                                       "fields": FIELDS, "filter": where})
        sync = client.create_sync(definition["uri"], new_definition=True)
        client.wait_for_sync(sync["uri"], timeout=120)
        rows = [row for page in client.iter_sync_data(sync["uri"]) for row in page]
        client.delete_definition(definition["uri"])
    return {str(r["EmailAddress"]).lower(): {k: str(r.get(k) or "") for k in FIELDS} for r in rows}


def _quiet_luigi() -> None:
    """Short output: no Luigi INFO chatter or warnings; failures still print their one line."""
    warnings.filterwarnings("ignore")
    # A failed task's stack trace is Luigi's ERROR record; the night's own lines name what failed instead.
    for name in ("luigi", "luigi-interface", "luigi.scheduler", "py4j", "eloqua"):
        logging.getLogger(name).setLevel(logging.CRITICAL)


def _night(day: dt.date, approve: bool, workers: int, say: Any) -> int:
    from luigi_tasks.cli import _run_night

    os.environ["SCC_APPROVE_INITIAL_LOAD"] = "true" if approve else "false"
    say(f"\n=== Night of {day} ({'initial load, approved' if approve else 'increment'}) ===")
    started = time.monotonic()
    with _TaskProgress(day):
        code = _run_night(day, workers=workers, local_scheduler=True, scheduler_url="")
    say(f"night of {day}: {'done' if code == 0 else f'FAILED (exit {code})'} in {time.monotonic() - started:.0f} s")
    return code


class _TaskProgress:
    """A bar of the night's finished tasks on a terminal (plain lines otherwise): the long steps, extract pages
    and Spark's night included, show that they are moving."""

    def __init__(self, day: dt.date) -> None:
        self.day = day
        self.bar: Any = None

    def __enter__(self) -> _TaskProgress:
        import luigi

        if sys.stderr.isatty():
            from tqdm import tqdm

            self.bar = tqdm(desc=f"night {self.day} tasks", unit="task", file=sys.stderr, leave=False)

        def done(task: luigi.Task) -> None:
            if self.bar is not None:
                self.bar.update(1)
                self.bar.set_postfix_str(task.get_task_family(), refresh=True)
            elif not isinstance(task, luigi.WrapperTask):  # wrappers only repeat what their parts said
                detail = task.param_kwargs.get("pipeline") or task.param_kwargs.get("activity_type") or ""
                print(f"  done: {task.get_task_family()} {detail}".rstrip(), flush=True)

        def started(task: luigi.Task) -> None:
            if self.bar is not None:
                self.bar.set_postfix_str(f"{task.get_task_family()} running", refresh=True)

        self.handlers = [(luigi.Event.SUCCESS, done), (luigi.Event.START, started)]
        for event, handler in self.handlers:
            luigi.Task.event_handler(event)(handler)
        return self

    def __exit__(self, *exc: object) -> None:
        import luigi

        for event, handler in self.handlers:
            luigi.Task._event_callbacks.get(luigi.Task, {}).get(event, set()).discard(handler)
        if self.bar is not None:
            self.bar.close()


def demo(contacts: int, last_day: dt.date, lake_dir: Path, workers: int) -> int:
    from lake.paths import LakeLayout, local_path
    from luigi_tasks.cli import configure_environment

    _DEMO_PID.append(os.getpid())
    signal.signal(signal.SIGTERM, _on_sigterm)
    _quiet_luigi()
    say = lambda text: print(text, flush=True)  # noqa: E731
    lake_dir = lake_dir.resolve()
    home = lake_dir.parent
    layout = LakeLayout(f"file://{lake_dir}")
    days = [last_day - dt.timedelta(days=1), last_day]
    started = time.monotonic()
    store = home / "sandbox"
    say(f"Eloqua sandbox: {contacts:,} contacts in {store}"
        + (" (reused)" if (store / "sandbox.sqlite").exists() else " (generated once, reused by the next demo)"))
    password = secrets.token_urlsafe(16)
    # The sandbox's clock starts at the end of night 1's data day, as if night 1 ran the next morning: its
    # loads then land on night 2's data day, and night 2's increment brings them back (only the changes).
    sandbox, url = start_sandbox(contacts, days[0] + dt.timedelta(days=1), store, password)
    try:
        say(f"sandbox on {url}; lake at {layout.url}")
        os.environ.update(ELOQUA_LOGIN_URL=url, ELOQUA_SITE=SANDBOX_SITE, ELOQUA_USER=SANDBOX_USER,
                          ELOQUA_PASSWORD=password)
        os.environ.pop("SCC_LAKE_URL", None)
        configure_environment(layout.url)
        _quiet_luigi()
        before_file = home / "before.json"
        if not before_file.exists():
            code = _payloads_of_first_night(days[0], workers, say)
            if code:
                return code
            emails = sample_emails([layout.import_ready(p, days[0]) for p in ("contact_washing", "lead_scoring")])
            before_file.write_text(json.dumps(read_contacts(emails), indent=1))
        before: dict[str, dict[str, str]] = json.loads(before_file.read_text())
        for number, day in enumerate(days):
            code = _night(day, approve=number == 0, workers=workers, say=say)
            if code:
                return code
        after = read_contacts(sorted(before))
    finally:
        sandbox.terminate()
        sandbox.wait(15)

    say("\nContacts before night 1 and after night 2, read back from Eloqua through the Bulk API:")
    say(f"  {'email':<34} {'country':<24} {'job level':<28} lead rating")
    for email in sorted(before):
        b, a = before[email], after.get(email, {})
        cells = [f"{b.get(k) or '-'} -> {a.get(k) or '-'}" for k in ("Country", "JobLevel", "LeadRating")]
        say(f"  {email.strip():<34} {cells[0]:<24} {cells[1]:<28} {cells[2]}")
    say("\nPayload rows (import_ready) per night:")
    totals = []
    for day in days:
        sizes = {p: dataset_rows(layout.import_ready(p, day)) or 0 for p in PIPELINES}
        totals.append(sum(sizes.values()))
        say(f"  {day}: " + ", ".join(f"{p} {n:,}" for p, n in sizes.items()) + f"; total {totals[-1]:,}")
    if totals[0]:
        say(f"  night 2 is {100 * totals[1] / totals[0]:.1f} % of night 1 (only the changes since the first load)")
    say(f"\nDemo finished in {time.monotonic() - started:.0f} s.")
    for day in days:
        say(f"Report {day}: {local_path(layout.report(day))}")
    say(f"Data Docs: {local_path(layout.data_docs())}/index.html")
    return 0


def _payloads_of_first_night(day: dt.date, workers: int, say: Any) -> int:
    """Night 1 up to its gates (approved), so that the contacts it will change are read before they are loaded."""
    from luigi_tasks.cli import run_tasks
    from luigi_tasks.gate import GatePayload

    say(f"\n=== Night of {day}: extract, Spark and gates first, to read some contacts before the load ===")
    started = time.monotonic()
    with _TaskProgress(day):
        code = run_tasks([GatePayload(pipeline=p, date=day, approve_initial_load=True) for p in PIPELINES],
                         workers=workers, local_scheduler=True)
    say(f"payloads and gates of {day}: {'done' if code == 0 else f'FAILED (exit {code})'} "
        f"in {time.monotonic() - started:.0f} s")
    return code


def main(argv: list[str] | None = None) -> int:
    import argparse

    parser = argparse.ArgumentParser(prog="python -m luigi_tasks.demo")
    parser.add_argument("--contacts", type=int, required=True)
    parser.add_argument("--date", type=dt.date.fromisoformat, required=True)
    parser.add_argument("--lake", type=Path, required=True)
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING, format="%(levelname)s %(name)s: %(message)s")
    try:
        return demo(args.contacts, args.date, args.lake, args.workers)
    except KeyboardInterrupt:
        return 130
    except Exception as exc:  # one line, never a stack trace: the demo is a newcomer's first contact
        print(f"scc demo: {type(exc).__name__}: {' '.join(str(exc).split())[:300]}", file=sys.stderr)
        return 1


if __name__ == "__main__":
    raise SystemExit(main())
