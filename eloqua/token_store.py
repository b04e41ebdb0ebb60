"""A file that every process of a run, and every later run, shares for its OAuth2 tokens.

Eloqua refresh tokens are single-use, so processes that each start from ``ELOQUA_REFRESH_TOKEN`` spend it once
and then fail. ``ELOQUA_TOKEN_FILE`` names a JSON file holding the current tokens::

    {"refresh_token": "...", "access_token": "...", "access_token_expires_at": "2026-11-27T08:00:00Z"}

It is replaced atomically (temp file in the same directory + ``os.replace``) with mode 0600, and guarded by an
exclusive ``fcntl.flock`` on the sibling ``<file>.lock`` that ``eloqua.auth`` holds across read, refresh and
write, so no two processes ever spend the same refresh token. ``access_token`` and its expiry may be null.

The file holds secrets: its contents never appear in reprs, logs or error messages; errors name the path only.
Put it on a local or block volume: ``flock`` is not reliable on every network file system.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from eloqua.errors import ConfigurationError

FILE_MODE = 0o600


@dataclass(frozen=True)
class StoredTokens:
    """What the token file holds; ``access_token_expires_at`` is wall-clock epoch seconds (UTC)."""

    refresh_token: str = field(repr=False)
    access_token: str | None = field(default=None, repr=False)
    access_token_expires_at: float | None = None

    def usable_access_token(self, now: float, margin: float) -> str | None:
        """The access token if it is still valid ``margin`` seconds from ``now`` (epoch seconds), else None."""
        expires_at = self.access_token_expires_at
        if self.access_token and expires_at is not None and now + margin < expires_at:
            return self.access_token
        return None


def _iso(epoch: float | None) -> str | None:
    if epoch is None:
        return None
    return datetime.fromtimestamp(epoch, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def _epoch(value: object) -> float | None:
    if value is None:
        return None
    if not isinstance(value, str):
        raise ValueError("access_token_expires_at is not a string")
    parsed = datetime.fromisoformat(value)
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)
    return parsed.timestamp()


class TokenStore:
    """The token file at ``path`` and its lock file ``<path>.lock`` (both mode 0600)."""

    def __init__(self, path: str | os.PathLike[str]) -> None:
        self.path = Path(path)
        self.lock_path = self.path.with_name(self.path.name + ".lock")

    def __repr__(self) -> str:
        return f"TokenStore({str(self.path)!r})"

    def _unwritable(self, exc: OSError) -> ConfigurationError:
        return ConfigurationError(
            f"cannot write the token file ELOQUA_TOKEN_FILE={str(self.path)!r}"
            f" ({exc.strerror or type(exc).__name__}): make its directory {str(self.path.parent)!r}"
            " exist and be writable by this user, or point ELOQUA_TOKEN_FILE elsewhere")

    @contextlib.contextmanager
    def locked(self) -> Iterator[None]:
        """Hold the exclusive inter-process lock (blocks while another process holds it)."""
        try:
            fd = os.open(self.lock_path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, FILE_MODE)
        except OSError as exc:
            raise self._unwritable(exc) from None
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            yield
        finally:
            # closing the descriptor releases the lock, also when the process dies
            os.close(fd)

    def read(self) -> StoredTokens | None:
        """The stored tokens; None when the file does not exist yet. Unreadable or corrupt: ConfigurationError."""
        try:
            raw = self.path.read_bytes()
        except FileNotFoundError:
            return None
        except OSError as exc:
            raise ConfigurationError(
                f"cannot read the token file ELOQUA_TOKEN_FILE={str(self.path)!r}"
                f" ({exc.strerror or type(exc).__name__}): fix its permissions or point ELOQUA_TOKEN_FILE"
                " elsewhere") from None
        try:
            data: Any = json.loads(raw)
            if not isinstance(data, dict):
                raise ValueError("not a JSON object")
            refresh = data.get("refresh_token")
            access = data.get("access_token")
            if not isinstance(refresh, str) or not refresh:
                raise ValueError("no refresh_token")
            if access is not None and not isinstance(access, str):
                raise ValueError("access_token is not a string")
            expires = _epoch(data.get("access_token_expires_at"))
        except ValueError:
            # the parser's message may quote the file's contents, i.e. a token: never repeat it
            raise ConfigurationError(
                f"the token file ELOQUA_TOKEN_FILE={str(self.path)!r} is corrupt (not the JSON"
                " {refresh_token, access_token, access_token_expires_at}): delete it and set"
                " ELOQUA_REFRESH_TOKEN to a refresh token from authorizing the app again") from None
        return StoredTokens(refresh_token=refresh, access_token=access or None, access_token_expires_at=expires)

    def write(self, tokens: StoredTokens) -> None:
        """Replace the file atomically with ``tokens`` (mode 0600); readers see the old or the new file whole."""
        body = json.dumps({
            "refresh_token": tokens.refresh_token,
            "access_token": tokens.access_token,
            "access_token_expires_at": _iso(tokens.access_token_expires_at),
        }, indent=2).encode() + b"\n"
        tmp: str | None = None
        try:
            fd, tmp = tempfile.mkstemp(dir=self.path.parent, prefix=f".{self.path.name}.", suffix=".tmp")
            with os.fdopen(fd, "wb") as out:
                os.fchmod(out.fileno(), FILE_MODE)
                out.write(body)
                out.flush()
                os.fsync(out.fileno())
            os.replace(tmp, self.path)
            tmp = None
            self._sync_directory()
        except OSError as exc:
            raise self._unwritable(exc) from None
        finally:
            if tmp is not None:
                with contextlib.suppress(OSError):
                    os.unlink(tmp)

    def _sync_directory(self) -> None:
        # the rename is durable only once the directory entry is on disk: a crash must not resurrect a spent token
        fd = os.open(self.path.parent, os.O_RDONLY | os.O_DIRECTORY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)
