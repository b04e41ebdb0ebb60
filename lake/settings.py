"""Settings of the storage behind an ``s3://`` lake: the endpoint, its addressing and the credentials.

:class:`S3Settings` is a plain value: where its fields come from (flag, environment, Luigi config) is decided
once, in ``luigi_tasks.config``. Credentials are only ever taken from the environment; the repr never shows
the secret.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from urllib.parse import urlparse

DEFAULT_REGION = "us-east-1"
ENV_ACCESS_KEY = "AWS_ACCESS_KEY_ID"
ENV_SECRET_KEY = "AWS_SECRET_ACCESS_KEY"  # noqa: S105 - a variable name, not a secret
ENV_SESSION_TOKEN = "AWS_SESSION_TOKEN"  # noqa: S105 - a variable name, not a secret


class ConfigError(ValueError):
    """A setting that cannot be used as given; the message says which and what to do."""


@dataclass(frozen=True)
class S3Settings:
    """Everything needed to talk to one S3-compatible endpoint. The repr never shows the secret."""

    endpoint_url: str | None
    region: str = DEFAULT_REGION
    path_style: bool = True
    access_key: str | None = None
    secret_key: str | None = field(default=None, repr=False)
    session_token: str | None = field(default=None, repr=False)

    def __post_init__(self) -> None:
        if self.endpoint_url:
            parsed = urlparse(self.endpoint_url)
            if parsed.scheme not in ("http", "https") or not parsed.netloc:
                raise ConfigError(
                    f"S3 endpoint {self.endpoint_url!r} is not an http(s) URL: set e.g. http://127.0.0.1:8333"
                )
            object.__setattr__(self, "endpoint_url", self.endpoint_url.rstrip("/"))
        else:
            object.__setattr__(self, "endpoint_url", None)

    @property
    def scheme(self) -> str:
        """``http`` or ``https`` (AWS itself is always https)."""
        return urlparse(self.endpoint_url).scheme if self.endpoint_url else "https"

    @property
    def endpoint_host(self) -> str | None:
        """``host:port`` of the endpoint, without the scheme (pyarrow's ``endpoint_override``)."""
        return urlparse(self.endpoint_url).netloc if self.endpoint_url else None

    @property
    def has_credentials(self) -> bool:
        return bool(self.access_key and self.secret_key)

    def credentials_env(self) -> dict[str, str]:
        """The ``AWS_*`` variables that hand these credentials to a child process (spark-submit)."""
        if not self.has_credentials:
            return {}
        env = {ENV_ACCESS_KEY: self.access_key or "", ENV_SECRET_KEY: self.secret_key or ""}
        if self.session_token:
            env[ENV_SESSION_TOKEN] = self.session_token
        return env
