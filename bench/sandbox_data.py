"""Benchmark: how fast the sandbox serves ``/syncs/{id}/data`` pages of 50,000 contacts x 20 fields.

Starts ``python -m scc_sandbox.cli serve`` on a free port with ``--contacts N`` (a fresh temporary data
directory, or ``--data-dir`` to reuse one), exports 20 contact fields, then reads every page with
``limit=50000`` over one keep-alive connection, several times. Prints rows/s for the transfer alone and with
``json.loads`` of each page, plus the server's peak RSS (``VmHWM``). Run from the repository root:

    .venv/bin/python bench/sandbox_data.py --contacts 200000 --rounds 3
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import requests

REPO = Path(__file__).resolve().parents[1]
FIELDS = {
    "ContactId": "{{Contact.Id}}",
    "EmailAddress": "{{Contact.Field(C_EmailAddress)}}",
    "FirstName": "{{Contact.Field(C_FirstName)}}",
    "LastName": "{{Contact.Field(C_LastName)}}",
    "Company": "{{Contact.Field(C_Company)}}",
    "Title": "{{Contact.Field(C_Title)}}",
    "Country": "{{Contact.Field(C_Country)}}",
    "StateProv": "{{Contact.Field(C_State_Prov)}}",
    "City": "{{Contact.Field(C_City)}}",
    "Industry": "{{Contact.Field(C_Industry1)}}",
    "JobLevel": "{{Contact.Field(C_Job_Level1)}}",
    "LeadRating": "{{Contact.Field(C_Lead_Rating1)}}",
    "ProfileScore": "{{Contact.Field(C_Lead_Profile_Score1)}}",
    "EngagementScore": "{{Contact.Field(C_Lead_Engagement_Score1)}}",
    "HardBouncedAt": "{{Contact.Field(C_Hard_Bounced_At1)}}",
    "IsBounced": "{{Contact.Email.IsBounced}}",
    "IsSubscribed": "{{Contact.Email.IsSubscribed}}",
    "CreatedAt": "{{Contact.CreatedAt}}",
    "UpdatedAt": "{{Contact.UpdatedAt}}",
    "BusPhone": "{{Contact.Field(C_BusPhone)}}",
}
PAGE = 50_000


def peak_rss_mb(pid: int) -> float:
    """The process's peak resident set size (Linux ``VmHWM``), in MiB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    import psutil

    return psutil.Process(pid).memory_info().rss / 2**20


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--contacts", type=int, default=200_000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--data-dir", type=Path, default=None)
    args = parser.parse_args(argv)
    tmp = tempfile.TemporaryDirectory(prefix="scc-bench-")
    data_dir = args.data_dir or Path(tmp.name) / "data"
    started = time.perf_counter()
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "scc_sandbox.cli",
            "serve",
            "--port",
            "0",
            "--contacts",
            str(args.contacts),
            "--seed",
            "1",
            "--sync-delay",
            "0",
            "--data-dir",
            str(data_dir),
        ],
        cwd=REPO,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        line = server.stdout.readline() if server.stdout else ""
        url = line.rsplit(" ", 1)[-1].strip()
        startup = time.perf_counter() - started
        session = requests.Session()
        session.auth = ("SCCSandbox\\scc.api", "scc-sandbox")
        bulk = f"{url}/api/bulk/2.0"
        definition = session.post(
            f"{bulk}/contacts/exports", json={"name": "bench", "fields": FIELDS}, timeout=60
        ).json()
        t0 = time.perf_counter()
        sync = session.post(f"{bulk}/syncs", json={"syncedInstanceUri": definition["uri"]}, timeout=60).json()
        while (status := session.get(f"{bulk}{sync['uri']}", timeout=60).json()["status"]) in (
            "pending",
            "active",
        ):
            time.sleep(0.05)
        staging = time.perf_counter() - t0
        assert status == "success", status
        best_raw = best_parsed = 0.0
        total_bytes = 0
        for _ in range(args.rounds):
            for parse in (False, True):
                rows = offset = total_bytes = 0
                t0 = time.perf_counter()
                while True:
                    response = session.get(
                        f"{bulk}{sync['uri']}/data", params={"limit": PAGE, "offset": offset}, timeout=120
                    )
                    total_bytes += len(response.content)
                    if parse:
                        body = json.loads(response.content)
                        count, more = body["count"], body["hasMore"]
                    else:
                        head = json.loads(response.content[:200].split(b',"items"')[0] + b"}")
                        count, more = head["count"], head["hasMore"]
                    rows += count
                    offset += count
                    if not more:
                        break
                rate = rows / (time.perf_counter() - t0)
                if parse:
                    best_parsed = max(best_parsed, rate)
                else:
                    best_raw = max(best_raw, rate)
        print(f"contacts={args.contacts} fields={len(FIELDS)} page={PAGE}")
        print(f"startup (generate + store)   {startup:8.1f} s")
        print(f"export sync (filter + stage) {staging:8.1f} s  ({args.contacts / staging:,.0f} rows/s)")
        print(f"/data transfer only          {best_raw:10,.0f} rows/s  ({total_bytes / rows:.0f} bytes/row)")
        print(f"/data transfer + json.loads  {best_parsed:10,.0f} rows/s")
        print(f"server peak RSS              {peak_rss_mb(server.pid):8.1f} MiB")
    finally:
        server.terminate()
        server.wait(timeout=30)
        tmp.cleanup()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
