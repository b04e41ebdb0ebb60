"""Sandbox credentials: HTTP Basic (``Site\\User:password``) and OAuth2 tokens (password, refresh grants).

Local defaults, overridable by flags or the environment: site ``SCCSandbox`` (SCC_SANDBOX_SITE), user
``scc.api`` (SCC_SANDBOX_USER), password ``scc-sandbox`` (SCC_SANDBOX_PASSWORD), a second user ``scc.other``
with the same password, OAuth client ``scc-sandbox-client`` / ``scc-sandbox-secret`` (SCC_SANDBOX_CLIENT_ID,
SCC_SANDBOX_CLIENT_SECRET). Access tokens last 8 hours; a refresh token works once and each refresh returns a
new one (old access tokens stay valid, as from Eloqua 26B). Tokens are kept in the store, so they survive a
restart.
"""

from __future__ import annotations

import base64
import binascii
import hmac
import os
import secrets
from dataclasses import dataclass, field
from datetime import timedelta
from typing import Any

from scc_sandbox.store import Store

ACCESS_TOKEN_SECONDS = 28_800
REFRESH_TOKEN_DAYS = 365
OTHER_USER = "scc.other"


@dataclass(frozen=True)
class Credentials:
    site: str = "SCCSandbox"
    user: str = "scc.api"
    password: str = field(default="scc-sandbox", repr=False)
    client_id: str = "scc-sandbox-client"
    client_secret: str = field(default="scc-sandbox-secret", repr=False)
    other_user: str = OTHER_USER

    @classmethod
    def from_env(cls, **overrides: str | None) -> Credentials:
        env = {
            "site": os.environ.get("SCC_SANDBOX_SITE"),
            "user": os.environ.get("SCC_SANDBOX_USER"),
            "password": os.environ.get("SCC_SANDBOX_PASSWORD"),
            "client_id": os.environ.get("SCC_SANDBOX_CLIENT_ID"),
            "client_secret": os.environ.get("SCC_SANDBOX_CLIENT_SECRET"),
        }
        values = {k: v for k, v in env.items() if v}
        values.update({k: v for k, v in overrides.items() if v})
        return cls(**values)

    @property
    def users(self) -> tuple[str, ...]:
        return (self.user, self.other_user)

    def user_id(self, user: str) -> int:
        return 314 + self.users.index(user)

    def check_user(self, site_user: str, password: str) -> str | None:
        """The user name when ``Site\\User`` and password are right, else None."""
        site, sep, user = site_user.partition("\\")
        if not sep or site.lower() != self.site.lower():
            return None
        match = next((u for u in self.users if u.lower() == user.lower()), None)
        if match is None or not hmac.compare_digest(password.encode(), self.password.encode()):
            return None
        return match

    def check_client(self, client_id: str, secret: str) -> bool:
        return hmac.compare_digest(client_id.encode(), self.client_id.encode()) and hmac.compare_digest(
            secret.encode(), self.client_secret.encode()
        )


def basic_pair(header: str) -> tuple[str, str] | None:
    """``(name, password)`` from an ``Authorization: Basic ...`` header, or None."""
    scheme, _, value = header.partition(" ")
    if scheme.lower() != "basic":
        return None
    try:
        decoded = base64.b64decode(value.strip(), validate=True).decode("utf-8")
    except (binascii.Error, UnicodeDecodeError):
        return None
    name, sep, password = decoded.partition(":")
    return (name, password) if sep else None


class Authenticator:
    """Checks request credentials and runs the OAuth2 token endpoint."""

    def __init__(self, creds: Credentials, store: Store) -> None:
        self.creds = creds
        self.store = store

    def user_for(self, authorization: str | None) -> str | None:
        """The user a request acts as (Basic or Bearer), or None."""
        if not authorization:
            return None
        scheme, _, value = authorization.partition(" ")
        if scheme.lower() == "bearer":
            rows = self.store.query(
                "SELECT user, expires_at FROM tokens WHERE token = ? AND kind = 'access'", (value.strip(),)
            )
            if rows and rows[0][1] > self.store.now().isoformat():
                return str(rows[0][0])
            return None
        pair = basic_pair(authorization)
        return self.creds.check_user(*pair) if pair else None

    def _issue(self, user: str) -> dict[str, Any]:
        access, refresh = secrets.token_urlsafe(32), secrets.token_urlsafe(32)
        now = self.store.now()
        with self.store.tx() as conn:
            conn.execute(
                "INSERT INTO tokens VALUES (?, 'access', ?, ?, 0)",
                (access, user, (now + timedelta(seconds=ACCESS_TOKEN_SECONDS)).isoformat()),
            )
            conn.execute(
                "INSERT INTO tokens VALUES (?, 'refresh', ?, ?, 0)",
                (refresh, user, (now + timedelta(days=REFRESH_TOKEN_DAYS)).isoformat()),
            )
        return {
            "access_token": access,
            "token_type": "bearer",
            "expires_in": ACCESS_TOKEN_SECONDS,
            "refresh_token": refresh,
        }

    def token(self, authorization: str | None, form: dict[str, Any]) -> tuple[int, dict[str, Any]]:
        """``POST /auth/oauth2/token``: (status, JSON body) per RFC 6749."""
        pair = basic_pair(authorization or "")
        client_id, secret = (
            pair if pair else (str(form.get("client_id", "")), str(form.get("client_secret", "")))
        )
        if not self.creds.check_client(client_id, secret):
            return 401, {"error": "invalid_client", "error_description": "Unknown client or wrong secret."}
        grant = form.get("grant_type")
        if grant == "password":
            user = self.creds.check_user(str(form.get("username", "")), str(form.get("password", "")))
            if user is None:
                return 400, {
                    "error": "invalid_grant",
                    "error_description": "Wrong site, user name or password.",
                }
            return 200, self._issue(user)
        if grant == "refresh_token":
            token = str(form.get("refresh_token", ""))
            with self.store.tx() as conn:
                row = conn.execute(
                    "SELECT user, expires_at, used FROM tokens WHERE token = ? AND kind = 'refresh'", (token,)
                ).fetchone()
                valid = row is not None and not row[2] and row[1] > self.store.now().isoformat()
                if valid:
                    conn.execute("UPDATE tokens SET used = 1 WHERE token = ?", (token,))
            if not valid:
                return 400, {
                    "error": "invalid_grant",
                    "error_description": "The refresh token is unknown, expired or already used.",
                }
            return 200, self._issue(str(row[0]))
        return 400, {
            "error": "unsupported_grant_type",
            "error_description": "The sandbox supports the password and refresh_token grants.",
        }
