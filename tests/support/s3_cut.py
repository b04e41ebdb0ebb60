"""An S3 outage at an exact request: a TCP proxy in front of a store's S3 port that takes the store away when it
sees a chosen request.

``S3Cut(upstream, when)`` listens on a free loopback port (:attr:`S3Cut.endpoint_url`: give it to the client as
its S3 endpoint) and forwards every connection to ``upstream``, bytes untouched. It reads the HTTP requests
going up (S3 is plain HTTP/1.1 on loopback here: request line, headers, a body of ``Content-Length`` bytes or
chunked) and, on the first request for which ``when(request)`` is true, *cuts*: that request never reaches the
store, every open connection is reset and the listening socket is closed, so later connections are refused,
exactly as if the store had stopped at that instant. :meth:`S3Cut.restore` listens again on the same port.

Timing plays no part: the outage happens at the chosen request, whatever the speed of the machine, so a test can
put it between two precise steps of a run (after the second part file, at a CopyObject, at ``_SUCCESS``...).
"""

from __future__ import annotations

import socket
import struct
import threading
import urllib.parse
from collections.abc import Callable
from dataclasses import dataclass, field

_CHUNK = 64 * 1024


@dataclass(frozen=True)
class Request:
    """One HTTP request seen going to the store: its method, its path (percent-decoded), query and headers."""

    method: str
    path: str
    query: str
    headers: dict[str, str] = field(repr=False)

    @property
    def is_copy(self) -> bool:
        """A CopyObject (or UploadPartCopy): a PUT naming its source in ``x-amz-copy-source``."""
        return self.method == "PUT" and "x-amz-copy-source" in self.headers

    @property
    def starts_object(self) -> bool:
        """The first request of an object's write: a PutObject or CopyObject (a PUT that is no part of a
        multipart upload), or a CreateMultipartUpload (``POST ?uploads``), which pyarrow sends even for small
        files; the parts and the completion of an upload follow it."""
        params = urllib.parse.parse_qs(self.query, keep_blank_values=True)
        if self.method == "PUT":
            return "uploadId" not in params
        return self.method == "POST" and "uploads" in params

    def under(self, *fragments: str) -> bool:
        """Whether the path holds every one of ``fragments`` (bucket and lake prefix included)."""
        return all(fragment in self.path for fragment in fragments)

    def __str__(self) -> str:
        return f"{self.method} {self.path}{'?' + self.query if self.query else ''}"


Predicate = Callable[[Request], bool]


def nth(count: int, predicate: Predicate) -> Predicate:
    """True for the ``count``-th request matching ``predicate`` (1-based), and for none before it."""
    seen = 0
    lock = threading.Lock()

    def check(request: Request) -> bool:
        nonlocal seen
        if not predicate(request):
            return False
        with lock:
            seen += 1
            return seen == count

    return check


def _parse(head: bytes) -> Request:
    lines = head.decode("latin-1").split("\r\n")
    method, target, _ = lines[0].split(" ", 2)
    raw_path, _, query = target.partition("?")
    headers = {}
    for line in lines[1:]:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    return Request(method=method, path=urllib.parse.unquote(raw_path), query=query, headers=headers)


class _Reader:
    """Buffered reads from one socket (the client's side of a connection)."""

    def __init__(self, sock: socket.socket) -> None:
        self.sock, self.buffer = sock, b""

    def _fill(self) -> bool:
        data = self.sock.recv(_CHUNK)
        self.buffer += data
        return bool(data)

    def until(self, marker: bytes) -> bytes | None:
        """Everything up to and including ``marker``; None at end of stream."""
        while marker not in self.buffer:
            if not self._fill():
                return None
        head, _, self.buffer = self.buffer.partition(marker)
        return head + marker

    def forward(self, count: int, to: socket.socket) -> bool:
        """Send the next ``count`` bytes on ``to`` as they arrive; False at a premature end of stream."""
        while count > 0:
            if not self.buffer and not self._fill():
                return False
            piece, self.buffer = self.buffer[:count], self.buffer[count:]
            to.sendall(piece)
            count -= len(piece)
        return True


def _reset(sock: socket.socket) -> None:
    """Close with a TCP reset (what the peer of a process that died sees), waking any thread blocked on it."""
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        sock.shutdown(socket.SHUT_RDWR)
    except OSError:
        pass
    sock.close()


class S3Cut:
    """A proxy to ``upstream`` (``http://host:port``) that becomes an outage at the first request ``when``
    accepts. Use it as a context manager, or call :meth:`start` and :meth:`close`."""

    def __init__(self, upstream: str, when: Predicate) -> None:
        parsed = urllib.parse.urlsplit(upstream)
        self.upstream = (parsed.hostname or "127.0.0.1", parsed.port or 80)
        self.when = when
        self.requests: list[Request] = []  # every request forwarded or cut, in arrival order
        self.cut_at: Request | None = None
        self.is_cut = threading.Event()
        self._lock = threading.Lock()
        self._connections: set[socket.socket] = set()
        self._closed = False
        self._listener = self._listen(0)
        self.port = int(self._listener.getsockname()[1])
        self._acceptor: threading.Thread | None = None

    @property
    def endpoint_url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def __enter__(self) -> S3Cut:
        return self.start()

    def __exit__(self, *_: object) -> None:
        self.close()

    @staticmethod
    def _listen(port: int) -> socket.socket:
        listener = socket.socket()
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", port))
        listener.listen(64)
        return listener

    def start(self) -> S3Cut:
        self._acceptor = threading.Thread(target=self._accept, args=(self._listener,), name="s3-cut accept",
                                          daemon=True)
        self._acceptor.start()
        return self

    def wait_cut(self, timeout: float) -> bool:
        return self.is_cut.wait(timeout)

    def restore(self) -> None:
        """The store is back: listen again on the same port and forward as before (no further cut)."""
        with self._lock:
            if not self.is_cut.is_set():
                return
            self.when = lambda request: False
            self._listener = self._listen(self.port)
            self.is_cut.clear()
        self.start()

    def close(self) -> None:
        with self._lock:
            self._closed = True
            connections, self._connections = self._connections, set()
            _reset(self._listener)
        for sock in connections:
            _reset(sock)

    # ---------------------------------------------------------------- the outage
    def _take_down(self, request: Request) -> None:
        with self._lock:
            if self.is_cut.is_set():
                return
            self.cut_at = request
            self.is_cut.set()
            connections, self._connections = self._connections, set()
            _reset(self._listener)  # later connections are refused, as by a stopped server
        for sock in connections:
            _reset(sock)

    # ---------------------------------------------------------------- forwarding
    def _accept(self, listener: socket.socket) -> None:
        while True:
            try:
                client, _ = listener.accept()
            except OSError:
                return  # the listener was closed: cut or closed
            with self._lock:
                if self.is_cut.is_set() or self._closed:
                    _reset(client)
                    continue
                try:
                    upstream = socket.create_connection(self.upstream, timeout=10)
                    upstream.settimeout(None)
                except OSError:
                    _reset(client)
                    continue
                self._connections.update((client, upstream))
            threading.Thread(target=self._requests, args=(client, upstream), daemon=True).start()
            threading.Thread(target=self._responses, args=(upstream, client), daemon=True).start()

    def _requests(self, client: socket.socket, upstream: socket.socket) -> None:
        reader = _Reader(client)
        try:
            while True:
                head = reader.until(b"\r\n\r\n")
                if head is None:
                    break
                request = _parse(head[:-4])
                with self._lock:
                    self.requests.append(request)
                if self.when(request):
                    self._take_down(request)  # never forwarded: the store is gone before it arrives
                    return
                upstream.sendall(head)
                if not self._forward_body(request, reader, upstream):
                    break
        except OSError:
            pass
        self._drop(client, upstream)

    @staticmethod
    def _forward_body(request: Request, reader: _Reader, upstream: socket.socket) -> bool:
        if "chunked" in request.headers.get("transfer-encoding", "").lower():
            while True:
                size_line = reader.until(b"\r\n")
                if size_line is None:
                    return False
                upstream.sendall(size_line)
                size = int(size_line.split(b";")[0].strip() or b"0", 16)
                if size == 0:  # then trailers, up to an empty line
                    while True:
                        trailer = reader.until(b"\r\n")
                        if trailer is None:
                            return False
                        upstream.sendall(trailer)
                        if trailer == b"\r\n":
                            return True
                if not reader.forward(size + 2, upstream):  # the chunk and its CRLF
                    return False
        return reader.forward(int(request.headers.get("content-length", "0") or 0), upstream)

    def _responses(self, upstream: socket.socket, client: socket.socket) -> None:
        try:
            while data := upstream.recv(_CHUNK):
                client.sendall(data)
        except OSError:
            pass
        self._drop(client, upstream)

    def _drop(self, *sockets: socket.socket) -> None:
        with self._lock:
            ours = [s for s in sockets if s in self._connections]
            self._connections.difference_update(ours)
        for sock in ours:
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            sock.close()
