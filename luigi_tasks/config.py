"""Lake and S3 settings: the ``[lake]`` and ``[s3]`` sections of luigi.cfg, and the environment.

    [lake]
    url = s3://scc-lake/prod            ; or file:///srv/scc/lake (default: file://<repo>/var/lake)

    [s3]
    endpoint_url = http://127.0.0.1:8333   ; any S3-compatible endpoint; empty = AWS
    region = us-east-1
    path_style = true

Credentials come ONLY from the environment (``AWS_ACCESS_KEY_ID``, ``AWS_SECRET_ACCESS_KEY``, optionally
``AWS_SESSION_TOKEN``). luigi.cfg may name them only as environment references
(``aws_access_key_id = ${SCC_LAKE_KEY_ID}``); a literal secret there is refused. They are never task
parameters, so they never reach luigid. ``SCC_S3_ENDPOINT_URL`` and ``SCC_LAKE_URL`` override the config, so
that a CronJob or a hand-run ``spark-submit`` needs no luigi.cfg.

Note: ``[s3]`` is also the section luigi's stock ``luigi.contrib.s3.S3Client()`` reads as boto3 keyword
arguments; build S3 targets through :class:`luigi_tasks.lake.Lake`, never with a bare ``S3Client()``.
"""

from __future__ import annotations

import os
import re
from configparser import InterpolationError
from dataclasses import dataclass, field
from pathlib import Path
from urllib.parse import urlparse

import luigi

REPO_ROOT = Path(__file__).resolve().parents[1]
DEFAULT_LAKE_URL = "file://" + str(REPO_ROOT / "var" / "lake")
DEFAULT_REGION = "us-east-1"

ENV_LAKE_URL = "SCC_LAKE_URL"
ENV_ENDPOINT_URL = "SCC_S3_ENDPOINT_URL"
ENV_ACCESS_KEY = "AWS_ACCESS_KEY_ID"
ENV_SECRET_KEY = "AWS_SECRET_ACCESS_KEY"  # noqa: S105 - a variable name, not a secret
ENV_SESSION_TOKEN = "AWS_SESSION_TOKEN"  # noqa: S105 - a variable name, not a secret

_PRIVATE = luigi.parameter.ParameterVisibility.PRIVATE
_ENV_REFERENCE = re.compile(r"^\$\{[A-Za-z_][A-Za-z0-9_]*\}$")


class ConfigError(ValueError):
    """A setting that cannot be used as given; the message says which and what to do."""


class lake(luigi.Config):
    """``[lake]``: where every stage reads and writes."""

    url = luigi.Parameter(default=DEFAULT_LAKE_URL, description="file:///abs/path or s3://bucket/prefix")


class s3(luigi.Config):
    """``[s3]``: the S3-compatible endpoint of an ``s3://`` lake. No credentials here (see the module doc)."""

    endpoint_url = luigi.Parameter(default="", description="e.g. http://127.0.0.1:8333; empty means AWS")
    region = luigi.Parameter(default=DEFAULT_REGION)
    path_style = luigi.BoolParameter(default=True, parsing=luigi.BoolParameter.EXPLICIT_PARSING)
    # Declared only so that luigi neither warns about them (its warning prints the value) nor shows them: read
    # through _credential_from_config, which accepts ${ENV} references only.
    aws_access_key_id = luigi.Parameter(default="", significant=False, visibility=_PRIVATE)
    aws_secret_access_key = luigi.Parameter(default="", significant=False, visibility=_PRIVATE)
    aws_session_token = luigi.Parameter(default="", significant=False, visibility=_PRIVATE)


class nightly(luigi.Config):  # luigi names the config section after the class
    """Run-wide switches of one nightly run (``[nightly]``, or ``--nightly-full-refresh`` on luigi's CLI)."""

    full_refresh = luigi.BoolParameter(
        default=False, description="re-export every contact and rebuild the snapshot without merging")


def lake_url() -> str:
    """The configured lake URL: ``$SCC_LAKE_URL``, else ``[lake] url``, else ``file://<repo>/var/lake``."""
    return os.environ.get(ENV_LAKE_URL) or lake().url


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

    @classmethod
    def from_env_and_config(cls, environ: dict[str, str] | None = None) -> S3Settings:
        """Endpoint, region, addressing from ``[s3]`` (``$SCC_S3_ENDPOINT_URL`` first); keys from the env."""
        env = os.environ if environ is None else environ
        try:
            cfg = s3()
        except ValueError as exc:  # luigi wraps e.g. endpoint_url = ${SCC_S3_ENDPOINT_URL} with it unset
            cause = exc.__cause__ if isinstance(exc.__cause__, InterpolationError) else exc
            raise ConfigError(" ".join(str(cause).split())) from None
        return cls(
            endpoint_url=env.get(ENV_ENDPOINT_URL) or cfg.endpoint_url or None,
            region=cfg.region or DEFAULT_REGION,
            path_style=bool(cfg.path_style),
            access_key=env.get(ENV_ACCESS_KEY) or _credential_from_config("aws_access_key_id"),
            secret_key=env.get(ENV_SECRET_KEY) or _credential_from_config("aws_secret_access_key"),
            session_token=env.get(ENV_SESSION_TOKEN) or _credential_from_config("aws_session_token"),
        )


def _credential_from_config(option: str) -> str | None:
    """A credential named in ``[s3]``, accepted only as an ``${ENV_VAR}`` reference (resolved by luigi)."""
    parser = luigi.configuration.get_config()
    if not parser.has_option("s3", option):
        return None
    try:
        raw = parser.get("s3", option, raw=True)
    except TypeError:  # a parser without configparser's raw= (luigi's TOML parser): no way to tell; refuse
        raw = ""
    if not _ENV_REFERENCE.match(str(raw).strip()):
        raise ConfigError(
            f"[s3] {option} in luigi.cfg must be an environment reference like ${{{option.upper()}}}, "
            "not a literal: put the secret in the environment"
        )
    try:
        value = parser.get("s3", option)
    except InterpolationError:
        reference = str(raw).strip()
        raise ConfigError(f"[s3] {option} refers to {reference}, which is not set: export it") from None
    return str(value) if value else None
