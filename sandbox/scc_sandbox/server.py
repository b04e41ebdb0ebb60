"""HTTP front of the sandbox (stdlib ``ThreadingHTTPServer``, HTTP/1.1 keep-alive) and the in-process API.

from scc_sandbox.server import start_sandbox
sb = start_sandbox(contacts=400, seed=7, as_of="2026-11-27", sync_delay=0.05)
... requests against sb.url ...
sb.stop()
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import socket
import tempfile
import threading
from dataclasses import dataclass, field
from datetime import date
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from scc_sandbox.app import Reply, Sandbox
from scc_sandbox.auth import Credentials
from scc_sandbox.clock import DEFAULT_TIMEZONE, zone
from scc_sandbox.faults import Faults
from scc_sandbox.imports import MAX_POST_BYTES
from scc_sandbox.store import Store

DEFAULT_AS_OF = "2026-11-27"
_MAX_BODY = (
    MAX_POST_BYTES + 64 * 1024 * 1024
)  # read (and refuse) larger imports; beyond this, drop the client


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    server_version = "EloquaSandbox/1.0"
    sys_version = ""
    sandbox: Sandbox  # set on the subclass made per server

    def log_message(self, format: str, *args: Any) -> None:
        pass

    def _read_body(self) -> bytes | None:
        if self.headers.get("Transfer-Encoding", "").lower() == "chunked":
            parts: list[bytes] = []
            size = 0
            while True:
                line = self.rfile.readline(65537)
                n = int(line.split(b";")[0].strip() or b"0", 16)
                if n == 0:
                    while self.rfile.readline(65537) not in (b"\r\n", b"\n", b""):
                        pass
                    return b"".join(parts)
                size += n
                if size > _MAX_BODY:
                    return None
                parts.append(self.rfile.read(n))
                self.rfile.readline(3)
        length = int(self.headers.get("Content-Length") or 0)
        if length > _MAX_BODY:
            return None
        return self.rfile.read(length) if length else b""

    def _serve(self) -> None:
        try:
            body = self._read_body()
        except (ValueError, OSError):
            self.close_connection = True
            return
        if body is None:
            self._send(Reply(404, b'"Not Found"'), close=True)
            return
        try:
            reply = self.sandbox.handle(self.command, self.path, self.headers, body)  # type: ignore[arg-type]
        except Exception as exc:  # an unexpected bug: answer 500 rather than hang the client
            reply = Reply(500, json.dumps(f"Internal sandbox error: {type(exc).__name__}").encode())
        self._send(reply)

    def _send(self, reply: Reply, close: bool = False) -> None:
        if reply.drop and not reply.body:
            # Fault on a bodiless answer (a 204 data post): the request was handled, its answer is lost.
            self.close_connection = True
            with contextlib.suppress(OSError):
                self.connection.shutdown(socket.SHUT_RDWR)
            return
        self.send_response(reply.status)
        if reply.status != 204:
            self.send_header("Content-Type", reply.content_type)
        self.send_header("Content-Length", str(len(reply.body)))
        for name, value in reply.headers.items():
            self.send_header(name, value)
        if close:
            self.send_header("Connection", "close")
            self.close_connection = True
        self.end_headers()
        if reply.drop:
            # Fault: send part of the body, then cut the connection.
            self.wfile.write(reply.body[: max(1, len(reply.body) // 2)])
            self.wfile.flush()
            self.close_connection = True
            try:
                self.connection.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            return
        if reply.body and self.command != "HEAD":
            self.wfile.write(reply.body)

    do_GET = do_POST = do_PUT = do_DELETE = do_PATCH = _serve


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 64


@dataclass
class RunningSandbox:
    """A sandbox serving on ``url`` in this process; ``stop()`` shuts it down (idempotent)."""

    url: str
    app: Sandbox
    creds: Credentials = field(repr=False)
    data_dir: Path
    _server: _Server = field(repr=False)
    _thread: threading.Thread = field(repr=False)
    _tmp: str | None = field(default=None, repr=False)
    _stopped: bool = False

    def stop(self) -> None:
        if self._stopped:
            return
        self._stopped = True
        self._server.shutdown()
        self._server.server_close()
        self.app.close()
        self._thread.join(timeout=5)
        if self._tmp:
            shutil.rmtree(self._tmp, ignore_errors=True)

    def __enter__(self) -> RunningSandbox:
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def start_sandbox(
    host: str = "127.0.0.1",
    port: int = 0,
    contacts: int = 1000,
    seed: int = 1,
    as_of: str | date = DEFAULT_AS_OF,
    data_dir: str | Path | None = None,
    faults: dict[str, Any] | str | Path | None = None,
    sync_delay: float = 1.0,
    site: str | None = None,
    user: str | None = None,
    password: str | None = None,
    client_id: str | None = None,
    client_secret: str | None = None,
    activity_cap: int | None = None,
    timezone: str = DEFAULT_TIMEZONE,
) -> RunningSandbox:
    """Build the store (generating data on first use of ``data_dir``) and serve on a background thread.

    ``faults`` is a fault spec (dict) or a path to one; ``data_dir`` None means a temporary directory removed
    on ``stop()``. ``timezone`` is the instance's time zone (IANA name) custom dates are exported and imported
    in. Raises ``StoreError`` / ``FaultSpecError`` / ``ValueError`` (``UnknownTimeZone``) with a one-line
    message.
    """
    zone(timezone)  # an unknown zone fails before a data directory is made
    day = as_of if isinstance(as_of, date) else date.fromisoformat(as_of)
    tmp = None
    if data_dir is None:
        tmp = tempfile.mkdtemp(prefix="scc-sandbox-")
        data_dir = tmp
    fault_set = Faults()
    if faults is not None:
        spec = faults if isinstance(faults, dict) else json.loads(Path(faults).read_text())
        fault_set.load(spec)
    if activity_cap is None and os.environ.get("SCC_SANDBOX_ACTIVITY_EXPORT_CAP"):
        activity_cap = int(os.environ["SCC_SANDBOX_ACTIVITY_EXPORT_CAP"])
    creds = Credentials.from_env(
        site=site, user=user, password=password, client_id=client_id, client_secret=client_secret
    )
    store = Store(Path(data_dir), seed, day, contacts, timezone=timezone)
    app = Sandbox(store, creds, fault_set, sync_delay, activity_cap=activity_cap)
    handler = type("Handler", (_Handler,), {"sandbox": app})
    server = _Server((host, port), handler)
    bound_port = server.server_address[1]
    shown = host if host not in ("0.0.0.0", "") else "127.0.0.1"  # noqa: S104 (display only)
    url = f"http://{shown}:{bound_port}"
    app.base_url = url
    thread = threading.Thread(
        target=server.serve_forever, kwargs={"poll_interval": 0.2}, name="sandbox-http", daemon=True
    )
    thread.start()
    return RunningSandbox(url, app, creds, Path(data_dir), server, thread, tmp)
