"""Every setting of a run, resolved once: command-line flag > environment variable > Luigi config > default.

:data:`SETTINGS` lists each setting the ``scc`` command exposes with its flag, variable, config option and
default (README.md, "Settings", is the same table); :func:`resolve` applies the precedence, and
:func:`pin_flags` records the flags the command line gave. Luigi config sections are the classes below
(``[lake]``, ``[s3]``, ``[nightly]``; luigi's own ``[core]`` for workers and the scheduler).

Credentials come ONLY from the environment (``AWS_ACCESS_KEY_ID``, ``AWS_SECRET_ACCESS_KEY``, optionally
``AWS_SESSION_TOKEN``). luigi.cfg may name them only as environment references
(``aws_access_key_id = ${SCC_LAKE_KEY_ID}``); a literal secret there is refused. They are never task
parameters, so they never reach luigid.
"""

from __future__ import annotations

import datetime as dt
import functools
import os
import re
from collections.abc import Mapping
from configparser import InterpolationError
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import luigi
from luigi.parameter import _no_value

from lake.errors import LakeError
from lake.paths import LakeUrlError, normalize
from lake.settings import (
    DEFAULT_REGION,
    ENV_ACCESS_KEY,
    ENV_SECRET_KEY,
    ENV_SESSION_TOKEN,
    ConfigError,
    S3Settings,
)
from lake.storage import Lake, open_lake

REPO_ROOT = Path(__file__).resolve().parents[1]
DEFAULT_LAKE_URL = "file://" + str(REPO_ROOT / "var" / "lake")

ENV_LAKE_URL = "SCC_LAKE_URL"
ENV_ENDPOINT_URL = "SCC_S3_ENDPOINT_URL"

_PRIVATE = luigi.parameter.ParameterVisibility.PRIVATE
_ENV_REFERENCE = re.compile(r"^\$\{[A-Za-z_][A-Za-z0-9_]*\}$")
_TRUE = {"1", "true", "yes", "on"}
_FALSE = {"0", "false", "no", "off", ""}


@dataclass(frozen=True)
class Setting:
    """One setting and its sources, highest first: ``flag``, ``env``, ``[section] option``, ``default``."""

    name: str
    flag: str | None
    env: str
    section: str
    option: str
    default: str
    description: str


SETTINGS: dict[str, Setting] = {s.name: s for s in (
    Setting("lake", "--lake", ENV_LAKE_URL, "lake", "url", DEFAULT_LAKE_URL,
            "where every stage reads and writes: file:///path or s3://bucket/prefix"),
    Setting("s3_endpoint", None, ENV_ENDPOINT_URL, "s3", "endpoint_url", "",
            "the S3-compatible endpoint of an s3:// lake; empty means AWS"),
    Setting("workers", "--workers", "SCC_WORKERS", "core", "workers", "2",
            "Luigi worker processes"),
    Setting("local_scheduler", "--local-scheduler", "SCC_LOCAL_SCHEDULER", "core", "local_scheduler", "false",
            "schedule in this process instead of the luigid of [core] default_scheduler_host"),
    Setting("full_refresh", "--full-refresh", "SCC_FULL_REFRESH", "nightly", "full_refresh", "false",
            "re-export every contact and rebuild the snapshot and every payload of the day"),
    Setting("approve_initial_load", "--approve-initial-load", "SCC_APPROVE_INITIAL_LOAD", "nightly",
            "approve_initial_load", "false",
            "let a pipeline's first load (no receipt for an earlier day) through its gate's row-count guard"),
    Setting("scheduler_url", "--scheduler-url", "SCC_SCHEDULER_URL", "core", "scheduler_url", "",
            "the central luigid, e.g. http://luigid:8082; empty means [core] default_scheduler_host/port"),
)}

# Flags given on this process's command line (inherited by the worker processes luigi forks).
_flags: dict[str, str] = {}


def pin_flags(**values: object) -> None:
    """Record the command-line flags that were given (None: not given), so that they win everywhere."""
    for name, value in values.items():
        if name not in SETTINGS:
            raise KeyError(f"no setting {name!r}")
        if value is not None:
            _flags[name] = str(value).lower() if isinstance(value, bool) else str(value)


def clear_flags() -> None:
    """Forget the pinned flags (a new command in the same process, tests)."""
    _flags.clear()


def resolve(name: str, environ: Mapping[str, str] | None = None) -> str:
    """The value of setting ``name``: its pinned flag, else its variable, else its Luigi config option,
    else its default."""
    setting = SETTINGS[name]
    if name in _flags:
        return _flags[name]
    env = os.environ if environ is None else environ
    if env.get(setting.env):
        return env[setting.env]
    config = luigi.configuration.get_config()
    if config.has_option(setting.section, setting.option):
        try:
            value = config.get(setting.section, setting.option)
        except InterpolationError as exc:
            raise ConfigError(" ".join(str(exc).split())) from None
        if value not in (None, ""):
            return str(value)
    return setting.default


def resolve_bool(name: str) -> bool:
    value = resolve(name).strip().lower()
    if value not in _TRUE | _FALSE:
        setting = SETTINGS[name]
        raise ConfigError(f"{setting.env} / [{setting.section}] {setting.option} = {value!r} is not a boolean: "
                          "use true or false")
    return value in _TRUE


def resolve_int(name: str) -> int:
    value = resolve(name).strip()
    if not value.isdigit() or int(value) < 1:
        setting = SETTINGS[name]
        raise ConfigError(f"{setting.env} / [{setting.section}] {setting.option} = {value!r} is not a "
                          "positive whole number")
    return int(value)


class lake(luigi.Config):
    """``[lake]``: where every stage reads and writes (read through :func:`lake_url`)."""

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


def check_data_days(first: dt.date, last: dt.date, today: dt.date | None = None) -> None:
    """Refuse, in one line, days the run must not touch: a day not over yet (UTC), or one before
    ``[nightly] earliest_date`` (nothing in Eloqua is older; a typo like 1900-01-01 would publish hundreds of
    empty datasets)."""
    today = today or dt.datetime.now(dt.UTC).date()
    earliest = nightly().earliest_date
    if last >= today:
        raise ConfigError(f"data day {last} is not over yet (today is {today} UTC): the latest day is "
                          f"{today - dt.timedelta(days=1)}")
    if first < earliest:
        raise ConfigError(f"data day {first} is before [nightly] earliest_date = {earliest}: check the date, or "
                          "lower earliest_date if the instance really holds older data")


class nightly(luigi.Config):  # luigi names the config section after the class
    """``[nightly]``: run-wide switches of one nightly run (read through :func:`full_refresh`)."""

    full_refresh = luigi.BoolParameter(
        default=False, description="re-export every contact and rebuild what depends on them")
    earliest_date = luigi.DateParameter(
        default=dt.date(2014, 1, 1), description="no data day before it is run (a mistyped date is refused)")
    approve_initial_load = luigi.BoolParameter(
        default=False, description="let each pipeline's first load through its gate (no row-count guard)")


def lake_url() -> str:
    """The lake URL of this run: ``--lake`` > ``$SCC_LAKE_URL`` > ``[lake] url`` > ``file://<repo>/var/lake``."""
    return resolve("lake")


def full_refresh() -> bool:
    """Whether this run re-exports every contact: ``--full-refresh`` > ``$SCC_FULL_REFRESH`` >
    ``[nightly] full_refresh`` > false."""
    return resolve_bool("full_refresh")


def approve_initial_load() -> bool:
    """Whether this run approves each pipeline's first load: ``--approve-initial-load`` >
    ``$SCC_APPROVE_INITIAL_LOAD`` > ``[nightly] approve_initial_load`` > false. Run-wide like
    :func:`full_refresh`: it reaches the gate as an insignificant parameter, so no task identity changes."""
    return resolve_bool("approve_initial_load")


def s3_settings(environ: Mapping[str, str] | None = None) -> S3Settings:
    """The S3 endpoint, region and addressing (``s3_endpoint`` by the one precedence, the rest from
    ``[s3]``); credentials from the environment, or ``${ENV}`` references in ``[s3]``."""
    env = os.environ if environ is None else environ
    try:
        cfg = s3()
        endpoint = resolve("s3_endpoint", environ=env)
    except ValueError as exc:  # luigi wraps e.g. endpoint_url = ${SCC_S3_ENDPOINT_URL} with it unset
        if isinstance(exc, ConfigError):
            raise
        cause = exc.__cause__ if isinstance(exc.__cause__, InterpolationError) else exc
        raise ConfigError(" ".join(str(cause).split())) from None
    return S3Settings(
        endpoint_url=endpoint or None,
        region=cfg.region or DEFAULT_REGION,
        path_style=bool(cfg.path_style),
        access_key=env.get(ENV_ACCESS_KEY) or _credential_from_config("aws_access_key_id"),
        secret_key=env.get(ENV_SECRET_KEY) or _credential_from_config("aws_secret_access_key"),
        session_token=env.get(ENV_SESSION_TOKEN) or _credential_from_config("aws_session_token"),
    )


def configured_lake() -> Lake:
    """The lake of this run (``lake`` by the one precedence; ``[s3]`` for an S3 lake), one per process so
    that its S3 clients are reused."""
    return lake_at(lake_url())


def lake_at(url: str) -> Lake:
    """The lake at ``url`` (a task's ``target_lake``) with this run's S3 settings, one per process and URL."""
    try:
        s3_for = s3_settings() if url.strip().startswith(("s3://", "s3a://")) else None
    except ConfigError as exc:
        raise LakeError(str(exc)) from None
    return _lake(url, s3_for, os.getpid())


class LakeParameter(luigi.Parameter):
    """The lake a task reads and writes: a significant parameter, so that two runs of one day on two lakes
    sharing a luigid are two tasks, never one (the second would find the first's "done" and exit 0 with an
    empty lake). Unset, it is the resolved ``lake`` setting, so ``luigi --module`` and ``scc`` need not pass
    it; URLs are normalised (``/srv/lake`` and ``file:///srv/lake`` are one lake)."""

    def __init__(self, **kwargs: Any) -> None:
        kwargs.setdefault("description", "the lake URL (default: --lake > $SCC_LAKE_URL > [lake] url)")
        super().__init__(**kwargs)

    def _get_value(self, task_name: str | None, param_name: str | None) -> Any:
        value = super()._get_value(task_name, param_name)
        return lake_url() if value is _no_value else value

    def normalize(self, x: Any) -> Any:
        try:
            return normalize(str(x))
        except LakeUrlError as exc:
            raise LakeError(str(exc)) from None


@functools.lru_cache(maxsize=4)
def _lake(url: str, s3_for: S3Settings | None, pid: int) -> Lake:
    # pid in the key: luigi forks a process per task with --workers > 1; clients must not cross a fork.
    return open_lake(url, s3_for)


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
