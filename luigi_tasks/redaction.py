"""Secrets replaced by VALUE wherever text leaves a process: log records, exception texts, luigid, subprocesses.

Masking by variable name misses a password inside ``DATABASE_URL`` or a webhook URL, and cannot reach the
text a library or a subprocess prints. So :func:`secret_values` collects every configured secret value:

* the credential variables (``ELOQUA_PASSWORD``, ``ELOQUA_CLIENT_SECRET``, ``ELOQUA_REFRESH_TOKEN``,
  ``AWS_ACCESS_KEY_ID``, ``AWS_SECRET_ACCESS_KEY``, ``AWS_SESSION_TOKEN``) and any variable whose name says it
  holds one (``*PASSWORD*``, ``*SECRET*``, ``*TOKEN*``, ``*WEBHOOK*``, ...);
* the password of every URL-valued variable (``DATABASE_URL``, ``LUIGI_DB_*``, ...), plain and %-encoded;
* the tokens in ``ELOQUA_TOKEN_FILE`` (they rotate: read again on every call) and the Basic header;

and :func:`redact` replaces each by ``***``. :func:`install` puts :class:`RedactingFilter` on the root
logger's handlers and keeps botocore's and urllib3's debug loggers (request signatures, signed URLs) at INFO,
even under ``--verbose``; :class:`RedactedFailure` is the mixin that redacts what a task sends to luigid.
"""

from __future__ import annotations

import base64
import json
import logging
import os
import re
from collections.abc import Iterable, Mapping
from urllib.parse import quote, unquote, urlsplit

MASK = "***"
CREDENTIAL_VARIABLES = (
    "ELOQUA_PASSWORD", "ELOQUA_CLIENT_SECRET", "ELOQUA_REFRESH_TOKEN",
    "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN",
)
# Names that say the whole value is a secret (a webhook URL is its own credential).
_SECRET_NAME = re.compile(r"SECRET|TOKEN|PASSWORD|PASSWD|ACCESS_KEY|CREDENTIAL|WEBHOOK|API_KEY|PRIVATE_KEY",
                          re.IGNORECASE)
_NOT_SECRET_NAME = re.compile(r"_FILE$|_PATH$|CHECKSUM", re.IGNORECASE)  # where a secret is, not the secret
# Shorter values would mask ordinary words ("on", "1"); no real credential is this short.
MIN_SECRET_LENGTH = 4
# Libraries whose DEBUG records carry signatures, signed URLs or keys.
_NOISY_LOGGERS = ("botocore", "boto3", "s3transfer", "urllib3", "requests_oauthlib")


def _url_password(value: str) -> str | None:
    if "://" not in value or "@" not in value:
        return None
    try:
        password = urlsplit(value.strip()).password
    except ValueError:
        return None
    return unquote(password) if password else None


def _token_file_values(path: str) -> list[str]:
    try:
        with open(os.path.expanduser(path), encoding="utf-8") as handle:
            data = json.load(handle)
    except (OSError, ValueError):
        return []
    if not isinstance(data, dict):
        return []
    return [str(data[k]) for k in ("refresh_token", "access_token") if data.get(k)]


def secret_values(environ: Mapping[str, str] | None = None) -> list[str]:
    """Every configured secret value, longest first (a secret containing another is masked whole)."""
    env = os.environ if environ is None else environ
    found: set[str] = set()
    for name, value in env.items():
        if not value:
            continue
        if name in CREDENTIAL_VARIABLES or (_SECRET_NAME.search(name) and not _NOT_SECRET_NAME.search(name)):
            found.add(value)
        password = _url_password(value)
        if password:
            found.add(password)
    if env.get("ELOQUA_TOKEN_FILE"):
        found.update(_token_file_values(env["ELOQUA_TOKEN_FILE"]))
    if env.get("ELOQUA_PASSWORD"):
        # the Basic header as a debug log of the request would show it
        pair = f"{env.get('ELOQUA_SITE', '')}\\{env.get('ELOQUA_USER', '')}:{env['ELOQUA_PASSWORD']}"
        found.add(base64.b64encode(pair.encode()).decode("ascii"))
    variants = set(found)
    for value in found:
        variants.update({quote(value, safe=""), quote(value, safe="/")})
    return sorted((v for v in variants if len(v) >= MIN_SECRET_LENGTH), key=len, reverse=True)


def redact(text: object, secrets: Iterable[str] | None = None) -> str:
    """``text`` with every secret value replaced by ``***``."""
    result = str(text)
    for secret in secret_values() if secrets is None else secrets:
        if secret in result:
            result = result.replace(secret, MASK)
    return result


def redact_mapping(values: Mapping[str, str]) -> dict[str, str]:
    """A mapping (a subprocess's environment) with its values redacted."""
    secrets = secret_values()
    return {k: redact(v, secrets) for k, v in values.items()}


class RedactingFilter(logging.Filter):
    """Redacts a record's message, arguments, exception and stack text before a handler formats it."""

    def filter(self, record: logging.LogRecord) -> bool:
        secrets = secret_values()
        if not secrets:
            return True
        try:
            message = record.getMessage()
        except Exception:  # a record whose args do not fit its format: keep luigi's own error path
            message = str(record.msg)
        record.msg, record.args = redact(message, secrets), None
        if record.exc_info and not record.exc_text:
            record.exc_text = logging.Formatter().formatException(record.exc_info)
        if record.exc_text:
            record.exc_text = redact(record.exc_text, secrets)
        if record.stack_info:
            record.stack_info = redact(record.stack_info, secrets)
        return True


_FILTER = RedactingFilter()


def install(logger: logging.Logger | None = None) -> None:
    """Redact every record the root logger's handlers (and luigi's own) print; quiet the libraries whose
    debug output holds signatures. Idempotent: call it after logging is configured."""
    loggers = [logger or logging.getLogger(), logging.getLogger("luigi-interface"), logging.getLogger("luigi")]
    for each in loggers:
        for handler in each.handlers:
            if _FILTER not in handler.filters:
                handler.addFilter(_FILTER)
    for name in _NOISY_LOGGERS:
        noisy = logging.getLogger(name)
        if noisy.getEffectiveLevel() < logging.INFO:
            noisy.setLevel(logging.INFO)


class RedactedFailure:
    """Mixin for tasks (before ``luigi.Task`` in the bases): what ``on_failure`` sends to luigid and its error
    e-mails is redacted by value."""

    def on_failure(self, exception: BaseException) -> str:
        return redact(super().on_failure(exception))  # type: ignore[misc]
