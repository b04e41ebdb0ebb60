"""Peak RSS of the nightly CronJob's own processes for one night, with Spark outside them.

    .venv/bin/python bench/cronjob_rss.py                      # 20,000 contacts: a few minutes here
    # the production size; the night's loads change the store, so give it a copy (here of bench/nightly.py's)
    cp -r /tmp/nightly-1m/sandbox-before-loads /tmp/cronjob-sandbox
    .venv/bin/python bench/cronjob_rss.py --contacts 1000000 --sandbox-dir /tmp/cronjob-sandbox

Starts the Eloqua sandbox, a central ``luigid`` and a Spark standalone cluster (master and one worker on
127.0.0.1, standing in for the cluster), then runs ``scc nightly`` for data day 2026-11-27 with the shipped
production configuration (conf/luigi/openshift.cfg, conf/spark/kubernetes.conf with the memory sizes cut to
this machine), the lake in a temporary folder, and samples the process tree of ``scc nightly`` every 0.2 s
with psutil:

* own: every process of the tree except Spark's (the nightly pod's share: luigi workers, extract, orchestration).
  PSS counts the pages the forked luigi workers share with ``scc`` once (what the pod's cgroup is charged);
  RSS summed per process counts them in every process: an upper bound;
* spark-submit: each ``SparkSubmit`` JVM and its children. On a standalone cluster Python jobs run their driver
  here (client mode); on Kubernetes (deploy mode cluster) the driver is a pod and the nightly pod keeps only
  the submitting JVM, measured by bench/submitter_rss.py; the peak of ``own`` while a spark-submit ran is
  reported apart, to add it to.

Prints the sizes, the wall time, the peak of ``own``, the peak number of concurrent spark-submits and the peak of
the whole tree. The CronJob's limit is 1 GiB (openshift/base/cronjob-nightly.yaml). Figures: bench/README.md.

``--memory-limit MIB`` (root, cgroup v1 or v2 memory controller) runs ``scc nightly`` in a memory cgroup of its
own with that limit, as the pod's cgroup would, and every spark-submit moved back out of it before it starts (a
wrapper named as ``[spark] spark_submit``): the night then has to finish without the kernel killing a process,
and the cgroup's own peak charge is printed. Give it 1 GiB minus the submitting JVM of bench/submitter_rss.py.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import secrets
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path

import psutil

from luigi_tasks.demo import SANDBOX_SITE, SANDBOX_USER, start_sandbox

REPO = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
NIGHT = dt.date(2026, 11, 27)  # the data day bench/nightly.py runs
SUBMIT_CLASS = "org.apache.spark.deploy.SparkSubmit"
MIB = 1024 * 1024


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_for(check: Callable[[], bool], what: str, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if check():
                return
        except OSError:
            pass
        time.sleep(0.2)
    raise SystemExit(f"bench: {what} was not ready after {timeout:.0f}s")


@contextmanager
def process(argv: list[str], log: Path, env: dict[str, str] | None = None,
            preexec: Callable[[], None] | None = None) -> Iterator[subprocess.Popen[bytes]]:
    with log.open("wb") as out:
        proc = subprocess.Popen(argv, stdout=out, stderr=subprocess.STDOUT, env=env, cwd=REPO, preexec_fn=preexec)
        try:
            yield proc
        finally:
            if proc.poll() is None:
                proc.terminate()
                try:
                    proc.wait(30)
                except subprocess.TimeoutExpired:
                    proc.kill()
                    proc.wait()


@contextmanager
def sandbox(contacts: int, data_dir: Path) -> Iterator[tuple[str, str]]:
    """The sandbox as ``make demo`` and bench/nightly.py start it (same seed and day), so a store kept by
    either is reused here: its generated activities are the slow part of a first start at 1M contacts."""
    password = secrets.token_urlsafe(16)
    started = time.monotonic()
    proc, url = start_sandbox(contacts, NIGHT + dt.timedelta(days=1), data_dir, password)
    try:
        print(f"sandbox with {contacts:,} contacts ready in {time.monotonic() - started:.0f}s", flush=True)
        yield url, password
    finally:
        proc.terminate()
        proc.wait(30)


@contextmanager
def spark_cluster(work: Path, cores: int, memory: str) -> Iterator[str]:
    import pyspark

    env = {**os.environ, "SPARK_HOME": os.path.dirname(pyspark.__file__), "SPARK_LOCAL_IP": "127.0.0.1",
           "SPARK_WORKER_DIR": str(work / "spark-work"), "SPARK_LOCAL_DIRS": str(work / "spark-local"),
           "PYSPARK_PYTHON": sys.executable, "SPARK_NO_DAEMONIZE": "1"}
    port, web = free_port(), free_port()
    master_url = f"spark://127.0.0.1:{port}"
    spark_class = str(BIN / "spark-class")
    with process([spark_class, "org.apache.spark.deploy.master.Master", "--host", "127.0.0.1", "--port",
                  str(port), "--webui-port", str(web)], work / "master.log", env):
        status = f"http://127.0.0.1:{web}/json/"
        wait_for(lambda: urllib.request.urlopen(status, timeout=2).status == 200, "the Spark master")
        with process([spark_class, "org.apache.spark.deploy.worker.Worker", master_url, "--host", "127.0.0.1",
                      "--cores", str(cores), "--memory", memory, "--webui-port", str(free_port()),
                      "--work-dir", str(work / "spark-work")], work / "worker.log", env):
            wait_for(lambda: b'"aliveworkers" : 1' in urllib.request.urlopen(status, timeout=2).read(),
                     "the Spark worker")
            yield master_url


@contextmanager
def luigid(work: Path) -> Iterator[str]:
    """The central scheduler the CronJob talks to: its own process, outside the measured tree (in production a
    pod of its own), with the production limit on concurrent Bulk syncs."""
    home = work / "luigid"
    home.mkdir()
    (home / "luigi.cfg").write_text("[resources]\neloqua_bulk_syncs = 2\n")
    port = free_port()
    env = {**os.environ, "LUIGI_CONFIG_PATH": str(home / "luigi.cfg")}
    with process([str(BIN / "luigid"), "--address", "127.0.0.1", "--port", str(port), "--state-path",
                  str(home / "state.pickle"), "--logdir", str(home)], home / "luigid.log", env):
        url = f"http://127.0.0.1:{port}"
        wait_for(lambda: socket.create_connection(("127.0.0.1", port), timeout=2).close() is None, "luigid")
        yield url


def production_conf(work: Path, executor_memory: str, spark_submit: str | None = None) -> Path:
    """scc-conf as the pods mount it, with the Spark sizes cut to this machine (and ``[spark] spark_submit``)."""
    conf = work / "etc-scc"
    conf.mkdir()
    luigi_cfg = (REPO / "conf" / "luigi" / "openshift.cfg").read_text()
    if spark_submit:
        assert luigi_cfg.count("\n[spark]\n") == 1
        luigi_cfg = luigi_cfg.replace("\n[spark]\n", f"\n[spark]\nspark_submit = {spark_submit}\n")
    (conf / "luigi.cfg").write_text(luigi_cfg)
    sizes = {"spark.driver.memory": "1g", "spark.executor.memory": executor_memory, "spark.executor.cores": "1"}
    lines = []
    for line in (REPO / "conf" / "spark" / "kubernetes.conf").read_text().splitlines():
        key = line.split(None, 1)[0] if line and not line.startswith("#") else ""
        lines.append(f"{key} {sizes[key]}" if key in sizes else line)
    (conf / "spark-kubernetes.conf").write_text("\n".join(lines) + "\n")
    return conf


class MemoryCgroup:
    """A memory cgroup beside this process's, limited to ``limit`` bytes (cgroup v1 or v2)."""

    def __init__(self, limit: int) -> None:
        v1 = Path("/sys/fs/cgroup/memory")
        mine = Path("/proc/self/cgroup").read_text().splitlines()
        if v1.is_dir():
            self.v1 = True
            relative = next(line.split(":", 2)[2] for line in mine if line.split(":")[1] == "memory")
            self.home = v1 / relative.lstrip("/")
        elif Path("/sys/fs/cgroup/cgroup.controllers").is_file():
            self.v1 = False
            self.home = Path("/sys/fs/cgroup") / next(line[3:] for line in mine if line.startswith("0::")).lstrip("/")
        else:
            raise SystemExit("bench: --memory-limit needs a cgroup memory controller under /sys/fs/cgroup")
        self.path = self.home / f"scc-cronjob-{os.getpid()}"
        try:
            self.path.mkdir()
            self._write("memory.limit_in_bytes" if self.v1 else "memory.max", str(limit))
            if self.v1:
                self._write("memory.swappiness", "0")  # the limit must not be met by swapping
            else:
                self._write("memory.swap.max", "0")
        except OSError as exc:
            raise SystemExit(f"bench: cannot create a memory cgroup at {self.path} (run as root): {exc}") from None

    def _write(self, name: str, value: str) -> None:
        (self.path / name).write_text(value)

    def _stat(self, name: str, key: str) -> int:
        for line in (self.path / name).read_text().splitlines():
            k, _, v = line.partition(" ")
            if k == key:
                return int(v)
        return 0

    def enter(self) -> None:
        """Called in the child before it execs: the night and all it forks are charged here."""
        (self.path / "cgroup.procs").write_text(str(os.getpid()))

    def leave_command(self) -> str:
        """Shell that moves the calling process back to this bench's cgroup."""
        return f"echo $$ > {self.home / 'cgroup.procs'}"

    def anonymous(self) -> int:
        return self._stat("memory.stat", "total_rss" if self.v1 else "anon")

    def peak(self) -> int:
        return int((self.path / ("memory.max_usage_in_bytes" if self.v1 else "memory.peak")).read_text())

    def oom_kills(self) -> int:
        return self._stat("memory.oom_control" if self.v1 else "memory.events", "oom_kill")

    def remove(self) -> None:
        for _ in range(50):
            try:
                self.path.rmdir()
                return
            except OSError:
                time.sleep(0.2)  # the last processes are still exiting


def tree(root: psutil.Process) -> list[psutil.Process]:
    try:
        return [root, *root.children(recursive=True)]
    except psutil.NoSuchProcess:
        return []


@dataclass
class Sample:
    own_rss: int = 0
    own_pss: int = 0  # proportional: pages the forked luigi workers share with the parent counted once
    spark_rss: int = 0
    submits: int = 0
    own: list[tuple[int, int, int]] = field(default_factory=list)  # (pid, RSS, PSS) per own process


def sample(root: psutil.Process) -> Sample:
    """The tree's memory now: the CronJob's own processes apart from spark-submit and its children."""
    spark: set[int] = set()
    procs = tree(root)
    now = Sample()
    for proc in procs:
        try:
            cmdline = proc.cmdline()
            if SUBMIT_CLASS in cmdline:
                # spark-class's bash wrapper and the JVM it starts both name the class: count the JVM only
                now.submits += cmdline[0].endswith("java")
                spark |= {p.pid for p in tree(proc)}
        except psutil.Error:
            continue
    for proc in procs:
        try:
            if proc.pid in spark:
                now.spark_rss += proc.memory_info().rss
                continue
            memory = proc.memory_full_info()
        except psutil.Error:
            continue
        if not memory.rss:  # a worker exiting between the two reads: its pages are being freed
            continue
        now.own_rss += memory.rss
        now.own_pss += memory.pss
        now.own.append((proc.pid, memory.rss, memory.pss))
    return now


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--contacts", type=int, default=20_000)
    parser.add_argument("--workers", type=int, default=2, help="luigi workers, as the CronJob runs (2)")
    parser.add_argument("--executor-memory", default="1g")
    parser.add_argument("--sandbox-dir", type=Path,
                        help="the sandbox's store, reused and changed by the night's loads (give it a copy)")
    parser.add_argument("--keep", action="store_true", help="keep the temporary folder (logs, lake)")
    parser.add_argument("--memory-limit", type=int, metavar="MIB",
                        help="run the night in a memory cgroup of this limit, spark-submit outside it (root)")
    args = parser.parse_args(argv)

    work = Path(tempfile.mkdtemp(prefix="scc-cronjob-rss-"))
    day = NIGHT
    cgroup = MemoryCgroup(args.memory_limit * MIB) if args.memory_limit else None
    spark_submit = None
    if cgroup:
        spark_submit = work / "spark-submit-outside-the-cgroup"
        spark_submit.write_text(f"#!/bin/sh\n{cgroup.leave_command()}\nexec {BIN / 'spark-submit'} \"$@\"\n")
        spark_submit.chmod(0o755)
    try:
        sandbox_dir = args.sandbox_dir.resolve() if args.sandbox_dir else work / "sandbox"
        with sandbox(args.contacts, sandbox_dir) as (url, password), luigid(work) as scheduler_url, \
                spark_cluster(work, 1, "1500m") as master:
            conf = production_conf(work, args.executor_memory, str(spark_submit) if spark_submit else None)
            env = {**os.environ,
                   "LUIGI_CONFIG_PATH": str(conf / "luigi.cfg"), "SCC_CONF_DIR": str(conf),
                   "SCC_SCHEDULER_URL": scheduler_url, "SCC_LAKE_URL": f"file://{work}/lake",
                   "SCC_S3_ENDPOINT_URL": "http://127.0.0.1:9", "SCC_SPARK_MASTER": master,
                   "SCC_SPARK_DEPLOY_MODE": "client", "SCC_SPARK_EXECUTORS": "1", "SCC_NAMESPACE": "bench",
                   "SCC_IMAGE": "scc:bench", "SCC_SPARK_UPLOAD_URL": f"file://{work}/uploads",
                   "ELOQUA_LOGIN_URL": url, "ELOQUA_SITE": SANDBOX_SITE, "ELOQUA_USER": SANDBOX_USER,
                   "ELOQUA_PASSWORD": password}
            # The CronJob's SPARK_SUBMIT_OPTS are for a submitter on Kubernetes; here spark-submit is the driver.
            for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "SPARK_SUBMIT_OPTS"):
                env.pop(name, None)
            # A first night on a new lake: its loads need the first-load approval a real first night gets.
            argv = [str(BIN / "scc"), "nightly", "--date", day.isoformat(), "--workers", str(args.workers),
                    "--approve-initial-load"]
            started = time.monotonic()
            peak_spark = peak_total = peak_submits = samples = 0
            peak_rss, peak_pss = Sample(), Sample()  # the samples where the own processes peaked
            peak_pss_at = ""
            peak_pss_beside_spark = 0  # while a spark-submit runs: on Kubernetes its JVM is in the pod too
            peak_anonymous = 0
            with process(argv, work / "nightly.log", env, cgroup.enter if cgroup else None) as proc:
                root = psutil.Process(proc.pid)
                while proc.poll() is None:
                    now = sample(root)
                    samples += 1
                    if now.own_rss > peak_rss.own_rss:
                        peak_rss = now
                    if now.own_pss > peak_pss.own_pss:
                        peak_pss, peak_pss_at = now, dt.datetime.now().strftime("%H:%M:%S")
                    if now.submits:
                        peak_pss_beside_spark = max(peak_pss_beside_spark, now.own_pss)
                    peak_spark = max(peak_spark, now.spark_rss)
                    peak_total, peak_submits = max(peak_total, now.own_rss + now.spark_rss), max(peak_submits,
                                                                                                   now.submits)
                    if cgroup:
                        peak_anonymous = max(peak_anonymous, cgroup.anonymous())
                    time.sleep(0.2)
                code = proc.wait()
            wall = time.monotonic() - started
            if cgroup and cgroup.oom_kills():
                print(f"the kernel killed {cgroup.oom_kills()} process(es) at the {args.memory_limit} MiB limit")
            if code != 0:
                tail = (work / "nightly.log").read_text()[-3000:]
                raise SystemExit(f"bench: scc nightly exited {code}; its log ends:\n{tail}")
        print(f"night of {day} for {args.contacts:,} contacts, {args.workers} luigi workers: {wall:.0f} s, "
              f"{samples} samples")
        print(f"peak PSS, CronJob's own processes (Spark excluded): {peak_pss.own_pss / MIB:.0f} MiB at "
              f"{peak_pss_at} (what the pod is charged: shared pages counted once)")
        for pid, rss, pss in peak_pss.own:
            role = "scc (luigi's scheduling process)" if pid == root.pid else "luigi worker (a running task)"
            print(f"    pid {pid:>7}  {role:<34} RSS {rss / MIB:6.0f} MiB  PSS {pss / MIB:6.0f} MiB")
        print(f"peak PSS, CronJob's own processes while a spark-submit ran: {peak_pss_beside_spark / MIB:.0f} MiB")
        print(f"peak RSS, CronJob's own processes (Spark excluded): {peak_rss.own_rss / MIB:.0f} MiB "
              "(summed per process: an upper bound)")
        print(f"peak RSS, spark-submit with its client-mode driver: {peak_spark / MIB:.0f} MiB "
              f"({peak_submits} at once)")
        print(f"peak RSS, whole tree:                              {peak_total / MIB:.0f} MiB")
        if cgroup:
            print(f"memory cgroup limited to {args.memory_limit} MiB (spark-submit outside it): night finished, "
                  f"{cgroup.oom_kills()} OOM kills; peak charge {cgroup.peak() / MIB:.0f} MiB (page cache "
                  f"included, reclaimed at the limit), peak anonymous memory {peak_anonymous / MIB:.0f} MiB")
        return 0
    finally:
        if cgroup:
            cgroup.remove()
        if args.keep:
            print(f"kept {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    raise SystemExit(main())
