"""Typed errors of the Eloqua Bulk client.

Every error's ``str()`` is one line a person can act on: what failed and what to do. None of them ever carries
a password, client secret or token; request bodies and URLs quoted here never contain credentials.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any


def one_line(text: object, limit: int = 300) -> str:
    """``text`` collapsed onto one line and cut to ``limit`` characters."""
    flat = " ".join(str(text).split())
    return flat if len(flat) <= limit else flat[: limit - 3] + "..."


class EloquaError(Exception):
    """Base of every error raised by ``eloqua`` (client, export, settings)."""

    def __init__(self, message: str) -> None:
        super().__init__(one_line(message, 1000))

    @property
    def message(self) -> str:
        return str(self.args[0])


class ConfigurationError(EloquaError):
    """Missing or inconsistent ELOQUA_* settings."""


class AuthenticationError(EloquaError):
    """Eloqua rejected the credentials (``/id`` answered "Not authenticated.", a 401, or the token endpoint
    said no)."""


class EloquaUnreachable(EloquaError):
    """The login or API host could not be reached at all (refused, DNS, TLS, timeouts) after bounded
    retries."""


class RetryExhausted(EloquaError):
    """A retryable failure (429, 5xx, dropped connection, truncated body) persisted past the retry budget."""

    def __init__(self, message: str, *, attempts: int, last_status: int | None) -> None:
        super().__init__(message)
        self.attempts = attempts
        self.last_status = last_status


class MalformedResponse(EloquaError):
    """A 2xx response whose body is not the JSON it should be (truncated, not JSON, wrong shape).
    Retryable."""


class HttpError(EloquaError):
    """A non-retryable HTTP error (4xx other than 429) from the Bulk API."""

    def __init__(self, message: str, *, status: int, method: str, uri: str, body: Any = None) -> None:
        super().__init__(message)
        self.status = status
        self.method = method
        self.uri = uri
        self.body = body


class ValidationError(HttpError):
    """HTTP 400 from Eloqua. ``failures`` is Eloqua's list of ``{field, value, constraint}`` (may be
    empty)."""

    def __init__(self, message: str, *, status: int, method: str, uri: str, body: Any = None,
                 failures: Sequence[Mapping[str, Any]] = ()) -> None:
        super().__init__(message, status=status, method=method, uri=uri, body=body)
        self.failures = [dict(f) for f in failures]


class NotFound(HttpError):
    """HTTP 404 or 410: the definition, sync or data does not exist (any more)."""


class Expired(NotFound):
    """HTTP 404/410 on a sync or its data: the staged data is past its ``dataRetentionDuration``; start a
    new sync."""


class Conflict(HttpError):
    """HTTP 409, e.g. deleting staged data while a sync on it is in progress."""


class SyncFailed(EloquaError):
    """A sync ended in ``error`` (or in ``warning`` where a warning is not acceptable).

    ``codes`` are the ELQ status codes of its log (``["ELQ-00101", ...]``); ``logs`` the raw log items.
    """

    def __init__(self, message: str, *, sync_uri: str, status: str,
                 logs: Sequence[Mapping[str, Any]] = ()) -> None:
        super().__init__(message)
        self.sync_uri = sync_uri
        self.status = status
        self.logs = [dict(item) for item in logs]
        self.codes = [str(item.get("statusCode")) for item in self.logs if item.get("statusCode")]


class SyncTimeout(EloquaError):
    """A sync did not reach a terminal state before the caller's deadline."""

    def __init__(self, message: str, *, sync_uri: str, last_status: str | None) -> None:
        super().__init__(message)
        self.sync_uri = sync_uri
        self.last_status = last_status


class ConversionError(EloquaError):
    """An exported value that does not fit its contract type (e.g. ``'abc'`` in an int column)."""


class ExportIncomplete(EloquaError):
    """The rows written differ from the sync's ``totalResults``; the staging files are kept for inspection."""
