"""Eloqua connection settings from the environment.

Basic auth (``Site\\User``): ``ELOQUA_SITE``, ``ELOQUA_USER``, ``ELOQUA_PASSWORD``. OAuth2 (refresh-token
grant, tokens rotate): ``ELOQUA_CLIENT_ID``, ``ELOQUA_CLIENT_SECRET``, ``ELOQUA_REFRESH_TOKEN``
(``ELOQUA_SITE``/``ELOQUA_USER`` are then optional and only name the account in messages).
``ELOQUA_LOGIN_URL`` (default ``https://login.eloqua.com``) is where ``/id`` discovery and the token endpoint
live.

``ELOQUA_TOKEN_FILE`` (optional, OAuth2 only): a file shared by every process of a run and by later runs that
holds the current refresh and access tokens (``eloqua.token_store``). Set it whenever more than one process, or
more than one run, uses the same OAuth2 app: a refresh token works once, so without the file only the first
process to refresh succeeds. With it, ``ELOQUA_REFRESH_TOKEN`` is only the bootstrap, read while the file does not
exist yet (or tried once more if the file's token was refused); it may then be left unset. The file's directory
must exist and be writable; the file is written with mode 0600.

Secrets are excluded from ``repr`` and never appear in error messages.

The instance's time zone (:func:`instance_timezone`): ``ELOQUA_TIMEZONE``, else ``[eloqua] timezone`` in the Luigi
config, else ``America/New_York`` (Eloqua's default). Non-system dates travel in it (``contract.objects.Column.
instance_time``).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from eloqua.errors import ConfigurationError

DEFAULT_LOGIN_URL = "https://login.eloqua.com"
DEFAULT_TIMEZONE = "America/New_York"
ENV_TIMEZONE = "ELOQUA_TIMEZONE"


@dataclass(frozen=True)
class EloquaSettings:
    """Where and as whom to connect. Build it with :meth:`from_env`, :meth:`basic` or :meth:`oauth`."""

    login_url: str = DEFAULT_LOGIN_URL
    site: str | None = None
    user: str | None = None
    password: str | None = field(default=None, repr=False)
    client_id: str | None = None
    client_secret: str | None = field(default=None, repr=False)
    refresh_token: str | None = field(default=None, repr=False)
    token_file: Path | None = None
    """Where the shared OAuth2 tokens live (``ELOQUA_TOKEN_FILE``); None keeps tokens in memory only."""

    @property
    def auth_method(self) -> Literal["basic", "oauth"]:
        return "oauth" if self.client_id else "basic"

    @property
    def account(self) -> str:
        """Who we are, for messages: ``site 'X', user 'Y'`` or ``OAuth client 'id'``; never a secret."""
        if self.auth_method == "oauth":
            who = f"OAuth client {self.client_id!r}"
            return who + (f" (site {self.site!r})" if self.site else "")
        return f"site {self.site!r}, user {self.user!r}"

    @classmethod
    def basic(cls, site: str, user: str, password: str, login_url: str = DEFAULT_LOGIN_URL) -> EloquaSettings:
        return cls(login_url=login_url.rstrip("/"), site=site, user=user, password=password).validated()

    @classmethod
    def oauth(cls, client_id: str, client_secret: str, refresh_token: str | None,
              login_url: str = DEFAULT_LOGIN_URL, site: str | None = None,
              token_file: str | os.PathLike[str] | None = None) -> EloquaSettings:
        """OAuth2 settings; ``refresh_token`` may be None only when ``token_file`` is given."""
        return cls(login_url=login_url.rstrip("/"), client_id=client_id, client_secret=client_secret,
                   refresh_token=refresh_token, site=site,
                   token_file=Path(token_file).expanduser() if token_file else None).validated()

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> EloquaSettings:
        """Settings from ``ELOQUA_*`` variables; OAuth when ``ELOQUA_CLIENT_ID`` is set, else Basic."""
        env = os.environ if env is None else env

        def get(name: str) -> str | None:
            value = env.get(name, "").strip()
            return value or None

        settings = cls(
            login_url=(get("ELOQUA_LOGIN_URL") or DEFAULT_LOGIN_URL).rstrip("/"),
            site=get("ELOQUA_SITE"),
            user=get("ELOQUA_USER"),
            password=env.get("ELOQUA_PASSWORD") or None,
            client_id=get("ELOQUA_CLIENT_ID"),
            client_secret=env.get("ELOQUA_CLIENT_SECRET") or None,
            refresh_token=get("ELOQUA_REFRESH_TOKEN"),
            token_file=Path(token_file).expanduser() if (token_file := get("ELOQUA_TOKEN_FILE")) else None,
        )
        return settings.validated()

    def with_refresh_token(self, refresh_token: str) -> EloquaSettings:
        return replace(self, refresh_token=refresh_token)

    def validated(self) -> EloquaSettings:
        """``self`` if complete for its auth method; otherwise a one-line ConfigurationError naming what is
        missing."""
        if not self.login_url.startswith(("http://", "https://")):
            raise ConfigurationError(
                f"ELOQUA_LOGIN_URL {self.login_url!r} is not an http(s) URL:"
                f" set it to e.g. {DEFAULT_LOGIN_URL}")
        if self.auth_method == "oauth":
            required = {"ELOQUA_CLIENT_SECRET": self.client_secret}
            if self.token_file is None:
                # with a token file the bootstrap token may be gone: the file is checked when first used
                required["ELOQUA_REFRESH_TOKEN"] = self.refresh_token
            method = "OAuth2 (ELOQUA_CLIENT_ID is set)"
        else:
            required = {"ELOQUA_SITE": self.site, "ELOQUA_USER": self.user, "ELOQUA_PASSWORD": self.password}
            method = "Basic auth"
        missing = [name for name, value in required.items() if not value]
        if missing:
            raise ConfigurationError(
                f"Eloqua {method} needs {', '.join(missing)}: set them in the environment")
        return self


def instance_timezone(env: Mapping[str, str] | None = None) -> ZoneInfo:
    """The Eloqua instance's time zone: ``$ELOQUA_TIMEZONE`` > ``[eloqua] timezone`` > ``America/New_York``.

    Eloqua exports and imports every non-system date in this zone whatever ``areSystemTimestampsInUTC`` says;
    the lake holds them in UTC. Both directions convert through this one function. A name that is not an IANA
    zone raises a one-line ConfigurationError.
    """
    env = os.environ if env is None else env
    source, name = ENV_TIMEZONE, env.get(ENV_TIMEZONE, "").strip()
    if not name:
        source, name = "[eloqua] timezone", _luigi_option("eloqua", "timezone")
    if not name:
        return ZoneInfo(DEFAULT_TIMEZONE)
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ConfigurationError(
            f"{source} = {name!r} is not an IANA time zone: set the zone of the Eloqua instance,"
            f" e.g. {DEFAULT_TIMEZONE} or Europe/Paris") from None


def _luigi_option(section: str, option: str) -> str:
    """``[section] option`` of the Luigi config when Luigi is loaded with one, else ''."""
    try:
        from luigi.configuration import get_config
    except ImportError:  # the client works without Luigi (scripts, the bench)
        return ""
    config = get_config()
    if not config.has_option(section, option):
        return ""
    return str(config.get(section, option) or "").strip()
