"""Authorization headers for Eloqua: HTTP Basic (``Site\\User``) or OAuth2 bearer tokens with refresh
rotation.

An OAuth refresh token is single-use: each refresh returns a new one, which is handed to ``on_token_refresh``
so the caller can store it before the old one is lost. With ``ELOQUA_TOKEN_FILE`` the tokens also live in a
file shared by every process and every run (``eloqua.token_store``), refreshed under an inter-process lock.
Tokens and passwords never leave these objects except as the ``Authorization`` header (and that file).
"""

from __future__ import annotations

import base64
import threading
import time
from collections.abc import Callable, MutableMapping
from typing import Any, Protocol

from eloqua.errors import AuthenticationError, ConfigurationError, HttpError, MalformedResponse, one_line
from eloqua.settings import EloquaSettings
from eloqua.token_store import StoredTokens, TokenStore

TokenCallback = Callable[[str], None]
"""Receives each new (rotated) refresh token; must persist it, since the previous one no longer works."""


def basic_header(user: str, password: str) -> str:
    raw = f"{user}:{password}".encode()
    return "Basic " + base64.b64encode(raw).decode("ascii")


class Authorizer(Protocol):
    def apply(self, headers: MutableMapping[str, str]) -> object:
        """Add ``Authorization``; return a marker of the credential used (for :meth:`renew`)."""

    def can_renew(self) -> bool:
        """True when a 401 may be cured by renewing the credential (OAuth), False for Basic."""

    def renew(self, used: object) -> None:
        """Get a fresh credential unless another thread already replaced ``used``."""


class BasicAuthorizer:
    """``Authorization: Basic base64(Site\\User:password)``."""

    def __init__(self, settings: EloquaSettings) -> None:
        self._header = basic_header(f"{settings.site}\\{settings.user}", settings.password or "")

    def __repr__(self) -> str:
        return "BasicAuthorizer()"

    def apply(self, headers: MutableMapping[str, str]) -> object:
        headers["Authorization"] = self._header
        return None

    def can_renew(self) -> bool:
        return False

    def renew(self, used: object) -> None:  # pragma: no cover - never called: can_renew() is False
        raise AuthenticationError("Basic credentials cannot be renewed")


PostToken = Callable[[str, dict[str, str], dict[str, Any]], Any]
"""(url, headers, json body) -> parsed JSON of a 2xx answer; raises HttpError on 4xx (the client's retrying
POST)."""


class OAuth2Authorizer:
    """Bearer tokens from the refresh-token grant at ``{login}/auth/oauth2/token`` (client authenticated by
    Basic).

    Thread-safe: one refresh at a time; threads holding a stale token wait for it. The access token is renewed
    shortly before ``expires_in`` runs out and whenever the API answers 401.

    With ``settings.token_file`` (``ELOQUA_TOKEN_FILE``) the tokens are shared with every other process through
    a :class:`~eloqua.token_store.TokenStore`: a still-valid access token from the file is reused instead of
    refreshing, and a refresh holds the file's lock from reading the refresh token to writing the new one, so a
    process that waited for the lock finds the fresh tokens and spends nothing. ``on_token_refresh`` is called
    after the file was written.
    """

    EXPIRY_MARGIN_S = 300.0

    def __init__(self, settings: EloquaSettings, post_token: PostToken,
                 on_token_refresh: TokenCallback | None = None) -> None:
        self._settings = settings
        self._post_token = post_token
        self._on_token_refresh = on_token_refresh
        self._refresh_token = settings.refresh_token or ""
        self._access_token: str | None = None
        self._expires_at = 0.0
        self._lock = threading.Lock()
        self._store = TokenStore(settings.token_file) if settings.token_file is not None else None

    def __repr__(self) -> str:
        return f"OAuth2Authorizer(client_id={self._settings.client_id!r})"

    @property
    def token_url(self) -> str:
        return self._settings.login_url.rstrip("/") + "/auth/oauth2/token"

    def apply(self, headers: MutableMapping[str, str]) -> object:
        with self._lock:
            if self._access_token is None or time.monotonic() >= self._expires_at:
                self._renew_locked(self._access_token)
            token = self._access_token
        headers["Authorization"] = f"Bearer {token}"
        return token

    def can_renew(self) -> bool:
        return True

    def renew(self, used: object) -> None:
        with self._lock:
            if self._access_token == used:
                self._renew_locked(used)

    def _renew_locked(self, stale: object) -> None:
        """A new access token in place of ``stale`` (None: none yet); the caller holds ``self._lock``."""
        if self._store is None:
            spent = self._refresh_token
            self._refresh_locked(spent)
            self._notify_if_rotated(spent)
            return
        with self._store.locked():
            stored = self._store.read()
            now = time.time()
            if stored is not None:
                reusable = stored.usable_access_token(now, self.EXPIRY_MARGIN_S)
                # the API refused ``stale``: whatever the file says about it, it is dead
                if reusable is not None and reusable != stale:
                    self._access_token = reusable
                    self._refresh_token = stored.refresh_token
                    expires_at = stored.access_token_expires_at or now
                    self._expires_at = time.monotonic() + (expires_at - self.EXPIRY_MARGIN_S - now)
                    return
            bootstrap = self._settings.refresh_token
            if stored is None:
                # the bootstrap, or the latest token this process saw if someone deleted the file meanwhile
                spent = self._refresh_token
                if not spent:
                    raise ConfigurationError(
                        f"the token file ELOQUA_TOKEN_FILE={str(self._store.path)!r} does not exist and"
                        " ELOQUA_REFRESH_TOKEN is not set: set ELOQUA_REFRESH_TOKEN to a refresh token from"
                        " authorizing the app (it is needed once, to start the file)")
                expires_in = self._refresh_locked(spent)
            else:
                spent = stored.refresh_token
                try:
                    expires_in = self._refresh_locked(spent)
                except AuthenticationError:
                    # an operator who authorized again put a new bootstrap token in the environment
                    if not bootstrap or bootstrap == stored.refresh_token:
                        raise
                    spent = bootstrap
                    expires_in = self._refresh_locked(spent)
            # ``now`` was taken before the request: the recorded expiry errs on the early side
            self._store.write(StoredTokens(refresh_token=self._refresh_token, access_token=self._access_token,
                                           access_token_expires_at=now + expires_in))
        self._notify_if_rotated(spent)

    def _notify_if_rotated(self, spent: str) -> None:
        if self._refresh_token != spent and self._on_token_refresh is not None:
            self._on_token_refresh(self._refresh_token)

    def _refresh_locked(self, refresh_token: str) -> float:
        """Spend ``refresh_token``; keep the new access token and the rotated refresh token (if Eloqua sent
        one). Returns the access token's lifetime in seconds."""
        settings = self._settings
        headers = {
            "Authorization": basic_header(settings.client_id or "", settings.client_secret or ""),
            "Content-Type": "application/json",
        }
        body = {"grant_type": "refresh_token", "refresh_token": refresh_token, "scope": "full"}
        try:
            answer = self._post_token(self.token_url, headers, body)
        except HttpError as exc:
            detail = exc.body.get("error") if isinstance(exc.body, dict) else None
            source = (f"the refresh token (from ELOQUA_TOKEN_FILE={str(settings.token_file)!r} or"
                      " ELOQUA_REFRESH_TOKEN)" if settings.token_file is not None else "the refresh token")
            raise AuthenticationError(
                f"Eloqua refused the OAuth2 refresh for {settings.account} (HTTP {exc.status}"
                + (f" {one_line(detail, 60)}" if detail else "")
                + f" from {self.token_url}): {source} was already used or has expired;"
                " authorize again and set ELOQUA_REFRESH_TOKEN") from None
        if not isinstance(answer, dict) or not answer.get("access_token"):
            raise MalformedResponse(
                f"the OAuth2 token endpoint {self.token_url} answered without an access_token")
        self._access_token = str(answer["access_token"])
        expires_in = float(answer.get("expires_in") or 28800)
        self._expires_at = time.monotonic() + max(expires_in - self.EXPIRY_MARGIN_S, expires_in / 2)
        self._refresh_token = str(answer.get("refresh_token") or refresh_token)
        return expires_in
