"""Peak RSS of the spark-submit JVM the nightly pod keeps while a Spark job runs on Kubernetes.

    .venv/bin/python bench/submitter_rss.py              # the CronJob's SPARK_SUBMIT_OPTS, three runs
    .venv/bin/python bench/submitter_rss.py --opts "-Xmx256m" --opts "-Xmx128m -XX:+UseSerialGC"

In deploy mode cluster, spark-submit builds the driver pod's spec, sends it to the Kubernetes API and then
waits for the application (``spark.kubernetes.submission.waitAppCompletion``), so its JVM stays in the CronJob
pod beside the luigi workers. There is no cluster here: the "API server" is a local socket that accepts the
request and never answers, so the JVM is measured loaded (Spark's submission classes, the Kubernetes client, the
pod spec built and sent) and waiting, which is its state for the rest of the job. It runs the command line the
nightly task builds for Kubernetes (``local://`` app in the image, conf/spark/kubernetes.conf), with
``SPARK_SUBMIT_OPTS`` from openshift/base/cronjob-nightly.yaml unless ``--opts`` is given, and samples the
JVM's peak RSS (VmHWM) until it gives up on the unanswered request (after its 10 s request timeout) or has
sent the pod twice. Figures: bench/README.md.
"""

from __future__ import annotations

import argparse
import os
import socket
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import psutil
import yaml

sys.path.insert(0, str(Path(__file__).resolve().parent))
from sandbox_data import peak_rss_mb

REPO = Path(__file__).resolve().parents[1]
BIN = Path(sys.executable).parent
CRONJOB = REPO / "openshift" / "base" / "cronjob-nightly.yaml"


def shipped_submit_opts() -> str:
    cronjob = next(d for d in yaml.safe_load_all(CRONJOB.read_text()) if d and d["kind"] == "CronJob")
    (container,) = cronjob["spec"]["jobTemplate"]["spec"]["template"]["spec"]["containers"]
    return next(e["value"] for e in container["env"] if e["name"] == "SPARK_SUBMIT_OPTS")


class SilentApiServer:
    """Accepts connections, reads each request's first line, never answers."""

    def __init__(self) -> None:
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]
        self.requests: list[str] = []
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            conn, _ = self.sock.accept()
            threading.Thread(target=self._hold, args=(conn,), daemon=True).start()

    def _hold(self, conn: socket.socket) -> None:
        data = conn.recv(65536)
        if data:  # a connection the killed JVM of an earlier run left behind reads as empty: not a request
            self.requests.append(data.split(b"\r\n", 1)[0].decode(errors="replace"))
        time.sleep(3600)


def submitter_peak_mib(opts: str, api: SilentApiServer, timeout: float) -> tuple[float, list[str]]:
    seen = len(api.requests)
    env = {**os.environ, "SPARK_SUBMIT_OPTS": opts, "PATH": f"{BIN}:{os.environ['PATH']}"}
    command = [str(BIN / "spark-submit"), "--master", f"k8s://http://127.0.0.1:{api.port}", "--deploy-mode", "cluster",
               "--properties-file", str(REPO / "conf" / "spark" / "kubernetes.conf"),
               "--conf", "spark.kubernetes.namespace=scc", "--conf", "spark.kubernetes.container.image=scc:latest",
               # the pod templates live in the ConfigMap on the cluster; here only the spec's size matters
               "--conf", "spark.kubernetes.driver.podTemplateFile=" + str(REPO / "conf/spark/driver-pod-template.yaml"),
               "--conf", "spark.kubernetes.executor.podTemplateFile="
               + str(REPO / "conf/spark/executor-pod-template.yaml"),
               "--name", "scc night 2026-11-27",
               "local://" + str(REPO / "jobs" / "night.py"), "--date", "2026-11-27", "--lake", "s3://bucket/lake"]
    log = tempfile.TemporaryFile()
    process = subprocess.Popen(command, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    peak = 0.0
    deadline = time.monotonic() + timeout
    try:
        while time.monotonic() < deadline and len(api.requests) < seen + 2 and process.poll() is None:
            peak = max(peak, _jvm_peak_mib(process.pid))  # a high-water mark, read until the JVM gives up
            time.sleep(0.2)
    finally:
        if process.poll() is None:
            os.killpg(process.pid, 9)
        process.wait()
    if len(api.requests) < seen + 1:
        log.seek(0)
        sys.exit("spark-submit never sent the driver pod:\n" + log.read().decode(errors="replace")[-3000:])
    return peak, api.requests[seen:]


def _jvm_peak_mib(launcher: int) -> float:
    """VmHWM of the SparkSubmit JVM: the spark-submit script itself, once spark-class has exec'ed java."""
    try:
        if psutil.Process(launcher).cmdline()[0].endswith("java"):
            return peak_rss_mb(launcher)
    except (psutil.Error, IndexError):
        pass
    return 0.0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--opts", action="append", help="SPARK_SUBMIT_OPTS to measure (repeatable)")
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--timeout", type=float, default=60.0)
    args = parser.parse_args()
    api = SilentApiServer()
    for opts in args.opts or [shipped_submit_opts()]:
        peaks = []
        for _ in range(args.runs):
            peak, requests = submitter_peak_mib(opts, api, args.timeout)
            if not any(r.startswith("POST /api/v1/namespaces/scc/pods") for r in requests):
                sys.exit(f"spark-submit never sent the driver pod with SPARK_SUBMIT_OPTS={opts!r}: {requests}")
            peaks.append(peak)
        print(f"SPARK_SUBMIT_OPTS={opts!r}: submitting JVM peak RSS {max(peaks):.0f} MiB "
              f"(runs: {', '.join(f'{p:.0f}' for p in peaks)})")


if __name__ == "__main__":
    main()
