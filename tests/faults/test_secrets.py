"""Finding 4 of issue 13: secrets are redacted by VALUE wherever text leaves the process: log records (also
under --verbose), exception texts, what a failed task sends to luigid, and spark-submit's error output."""

from __future__ import annotations

import datetime as dt
import io
import logging
import os
import stat
from pathlib import Path

import luigi
import pytest
from luigi.contrib.external_program import ExternalProgramRunError

from luigi_tasks import redaction

# Distinctive values: none is a substring of anything the code prints by itself.
SECRETS = {
    "ELOQUA_PASSWORD": "pw-Qz7eloqua-XK41",
    "ELOQUA_CLIENT_SECRET": "cs-Qz7client-XK42",
    "ELOQUA_REFRESH_TOKEN": "rt-Qz7refresh-XK43",
    "AWS_ACCESS_KEY_ID": "AKIAQZ7ACCESSXK44",
    "AWS_SECRET_ACCESS_KEY": "sk-Qz7secret-XK45",
    "AWS_SESSION_TOKEN": "st-Qz7session-XK46",
}
DB_PASSWORD = "db-Qz7pass-XK47"
WEBHOOK = "https://hooks.example.invalid/services/T0/B0/wh-Qz7hook-XK48"
TOKEN_FILE_ACCESS = "at-Qz7access-XK49"
EVERY_SECRET = [*SECRETS.values(), DB_PASSWORD, WEBHOOK, TOKEN_FILE_ACCESS]


@pytest.fixture()
def secrets_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for name, value in SECRETS.items():
        monkeypatch.setenv(name, value)
    monkeypatch.setenv("DATABASE_URL", f"postgresql://scc:{DB_PASSWORD}@db.internal:5432/scc")
    monkeypatch.setenv("SCC_ALERT_WEBHOOK", WEBHOOK)
    tokens = tmp_path / "tokens.json"
    tokens.write_text(f'{{"refresh_token": "{SECRETS["ELOQUA_REFRESH_TOKEN"]}", '
                      f'"access_token": "{TOKEN_FILE_ACCESS}"}}')
    monkeypatch.setenv("ELOQUA_TOKEN_FILE", str(tokens))


def _leaks(text: str) -> list[str]:
    return [s for s in EVERY_SECRET if s in text]


def test_every_configured_secret_value_is_redacted_from_any_text(secrets_env: None) -> None:
    text = " | ".join([*EVERY_SECRET, os.environ["DATABASE_URL"], "password=db-Qz7pass-XK47%21"])
    redacted = redaction.redact(text)
    assert _leaks(redacted) == []
    assert "postgresql://scc:***@db.internal:5432/scc" in redacted


def test_log_records_their_arguments_and_tracebacks_are_redacted(secrets_env: None) -> None:
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    logger = logging.getLogger("tests.faults.secrets")
    logger.addHandler(handler)
    logger.propagate = False
    try:
        redaction.install(logger)
        logger.warning("connecting with %s", os.environ["DATABASE_URL"])
        try:
            raise RuntimeError(f"refused key {SECRETS['AWS_ACCESS_KEY_ID']} for {WEBHOOK}")
        except RuntimeError:
            logger.exception("request failed")
    finally:
        logger.removeHandler(handler)
    assert _leaks(stream.getvalue()) == []
    assert "RuntimeError: refused key *** for ***" in stream.getvalue()


def test_verbose_keeps_signing_libraries_at_info(secrets_env: None) -> None:
    root = logging.getLogger()
    level = root.level
    root.setLevel(logging.DEBUG)
    try:
        redaction.install()
        assert not logging.getLogger("botocore.auth").isEnabledFor(logging.DEBUG)
        assert not logging.getLogger("urllib3.connectionpool").isEnabledFor(logging.DEBUG)
    finally:
        root.setLevel(level)


class _Failing(redaction.RedactedFailure, luigi.Task):
    def run(self) -> None:
        raise RuntimeError(f"upload to {os.environ['DATABASE_URL']} failed")


def test_what_a_failed_task_sends_to_luigid_is_redacted(secrets_env: None) -> None:
    task = _Failing()
    try:
        task.run()
    except RuntimeError as exc:
        sent = task.on_failure(exc)
    assert "upload to postgresql://scc:***@db.internal" in sent
    assert _leaks(sent) == []


def test_a_failed_spark_submit_error_carries_no_secret(secrets_env: None, tmp_path: Path,
                                                       monkeypatch: pytest.MonkeyPatch) -> None:
    from luigi_tasks import spark_tasks

    # A spark-submit that fails the way a broken cluster does: echoing its environment to stderr.
    fake = tmp_path / "spark-submit"
    fake.write_text("#!/bin/sh\nenv >&2\necho \"connect $DATABASE_URL\"\nexit 1\n")
    fake.chmod(fake.stat().st_mode | stat.S_IEXEC)
    monkeypatch.setenv("SCC_LAKE_URL", f"file://{tmp_path / 'lake'}")
    task = spark_tasks.HardBounces(date=dt.date(2026, 11, 26))
    monkeypatch.setattr(type(task), "spark_submit", property(lambda self: str(fake)))
    with pytest.raises(ExternalProgramRunError) as failed:
        task._submit()
    text = str(failed.value) + task.on_failure(failed.value)
    assert "connect postgresql://scc:***@db.internal" in text  # the output is there, the password is not
    assert _leaks(text) == []
