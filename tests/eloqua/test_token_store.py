"""OAuth2 tokens shared through ELOQUA_TOKEN_FILE by separate processes and later runs, against the sandbox over
real sockets.

Each "process" is a fresh ``python -c`` that builds ``EloquaClient.from_env()``, as every Luigi extract worker
does, and makes one Bulk call. The sandbox counts ``POST /auth/oauth2/token`` requests, so the tests can say how
many refreshes a DAG cost.
"""

from __future__ import annotations

import json
import os
import stat
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest
import requests

from eloqua.client import EloquaClient, RetryPolicy
from eloqua.errors import AuthenticationError, ConfigurationError
from eloqua.settings import EloquaSettings
from eloqua.token_store import StoredTokens, TokenStore
from tests.fixtures.sandbox import REPO

pytestmark = pytest.mark.integration

TOKEN_ROUTE = "POST /auth/oauth2/token"
FAST = RetryPolicy(max_attempts=4, base_delay=0.05, max_delay=0.2, max_elapsed=20.0)

# One extract worker: a new process, a client from the environment, one authenticated Bulk call.
WORKER = textwrap.dedent("""
    import json, os, sys
    from eloqua.client import EloquaClient, RetryPolicy
    from eloqua.errors import EloquaError

    if os.environ.get("TEST_WAIT_FOR_GO"):
        print("ready", flush=True)
        sys.stdin.readline()
    retry = RetryPolicy(max_attempts=4, base_delay=0.05, max_delay=0.2, max_elapsed=20.0)
    try:
        with EloquaClient.from_env(retry=retry, bulk_base=os.environ.get("TEST_BULK_BASE")) as client:
            answer = client.request_json("GET", "/contacts/fields", params={"limit": 1})
        print(json.dumps({"ok": True, "fields": answer["totalResults"]}), flush=True)
    except EloquaError as exc:
        print(json.dumps({"ok": False, "error": type(exc).__name__, "message": str(exc)}), flush=True)
        sys.exit(1)
""")


def spend(sandbox, refresh_token: str) -> None:
    """Use ``refresh_token`` outside the client, as a process without the token file would."""
    answer = requests.post(f"{sandbox.url}/auth/oauth2/token", auth=(sandbox.client_id, sandbox.client_secret),
                           json={"grant_type": "refresh_token", "refresh_token": refresh_token}, timeout=10)
    answer.raise_for_status()


def token_requests(sandbox) -> dict[str, int]:
    """``POST /auth/oauth2/token`` answers so far, by status."""
    return dict(sandbox.state()["requests"].get(TOKEN_ROUTE, {}))


def since(before: dict[str, int], after: dict[str, int]) -> dict[str, int]:
    changed = {status: n - before.get(status, 0) for status, n in after.items()}
    return {status: n for status, n in changed.items() if n}


def oauth_env(sandbox, bootstrap: str | None, token_file: Path | None, **extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("ELOQUA_")}
    env.update({"ELOQUA_LOGIN_URL": sandbox.url, "ELOQUA_CLIENT_ID": sandbox.client_id,
                "ELOQUA_CLIENT_SECRET": sandbox.client_secret, "PYTHONPATH": str(REPO), **extra})
    if bootstrap is not None:
        env["ELOQUA_REFRESH_TOKEN"] = bootstrap
    if token_file is not None:
        env["ELOQUA_TOKEN_FILE"] = str(token_file)
    return env


def run_worker(env: dict[str, str]) -> dict:
    done = subprocess.run([sys.executable, "-c", WORKER], env=env, cwd=REPO, capture_output=True, text=True,
                          timeout=120)
    return _outcome(done.stdout, done.stderr, done.returncode)


def run_workers_together(n: int, env: dict[str, str]) -> list[dict]:
    """Start ``n`` workers, wait until each has imported everything, then release them all at once."""
    env = {**env, "TEST_WAIT_FOR_GO": "1"}
    procs = [subprocess.Popen([sys.executable, "-c", WORKER], env=env, cwd=REPO, stdin=subprocess.PIPE,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True) for _ in range(n)]
    try:
        for proc in procs:
            assert proc.stdout is not None and proc.stdout.readline().strip() == "ready"
        for proc in procs:
            assert proc.stdin is not None
            proc.stdin.write("go\n")
            proc.stdin.flush()
        outcomes = []
        for proc in procs:
            out, err = proc.communicate(timeout=120)
            outcomes.append(_outcome(out, err, proc.returncode))
        return outcomes
    finally:
        for proc in procs:
            if proc.poll() is None:
                proc.kill()
                proc.wait()


def _outcome(stdout: str, stderr: str, returncode: int) -> dict:
    lines = stdout.strip().splitlines()
    if not lines:
        raise AssertionError(f"worker exited {returncode} without an answer; stderr: {stderr[-2000:]}")
    outcome = json.loads(lines[-1])
    assert outcome["ok"] == (returncode == 0)
    return outcome


def one_line(text: str) -> bool:
    return "\n" not in text and 0 < len(text) < 600


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


# --------------------------------------------------------------------------------------- the problem


def test_without_a_token_file_the_second_process_fails_on_the_spent_refresh_token(sandbox):
    env = oauth_env(sandbox, sandbox.password_grant(), token_file=None)
    first = run_worker(env)
    second = run_worker(env)
    assert first["ok"] is True
    assert second["ok"] is False and second["error"] == "AuthenticationError"
    assert one_line(second["message"]) and "already used" in second["message"]
    assert env["ELOQUA_REFRESH_TOKEN"] not in second["message"]


# --------------------------------------------------------------------------------------- sharing


def test_processes_in_a_row_share_one_refresh_and_reuse_its_access_token(sandbox, tmp_path):
    token_file = tmp_path / "eloqua-tokens.json"
    bootstrap = sandbox.password_grant()
    before = token_requests(sandbox)

    outcomes = [run_worker(oauth_env(sandbox, bootstrap, token_file)) for _ in range(3)]

    assert [o["ok"] for o in outcomes] == [True, True, True]
    # the first worker spent the bootstrap; the next two reused the access token it stored
    assert since(before, token_requests(sandbox)) == {"200": 1}
    stored = TokenStore(token_file).read()
    assert stored is not None and stored.refresh_token != bootstrap
    assert stored.usable_access_token(time.time(), margin=3600) is not None


def test_a_later_run_needs_only_the_token_file(sandbox, tmp_path):
    token_file = tmp_path / "eloqua-tokens.json"
    bootstrap = sandbox.password_grant()
    assert run_worker(oauth_env(sandbox, bootstrap, token_file))["ok"] is True

    # next night: the bootstrap in the environment is spent (or gone); the file carries the run
    assert run_worker(oauth_env(sandbox, bootstrap, token_file))["ok"] is True
    assert run_worker(oauth_env(sandbox, None, token_file))["ok"] is True


def test_four_processes_started_together_spend_the_refresh_token_once(sandbox, tmp_path):
    token_file = tmp_path / "eloqua-tokens.json"
    bootstrap = sandbox.password_grant()
    before = token_requests(sandbox)

    outcomes = run_workers_together(4, oauth_env(sandbox, bootstrap, token_file))

    assert [o["ok"] for o in outcomes] == [True] * 4, outcomes
    # no refused refresh: the other three waited on the lock and took the fresh access token
    assert since(before, token_requests(sandbox)) == {"200": 1}


def test_clients_in_one_process_share_the_file_and_the_callback_sees_it_written(sandbox, tmp_path):
    token_file = tmp_path / "eloqua-tokens.json"
    settings = EloquaSettings.oauth(sandbox.client_id, sandbox.client_secret, sandbox.password_grant(),
                                    login_url=sandbox.url, token_file=token_file)
    seen: list[tuple[str, str | None]] = []

    def on_refresh(token: str) -> None:
        stored = TokenStore(token_file).read()
        seen.append((token, stored.refresh_token if stored else None))

    before = token_requests(sandbox)
    for _ in range(2):
        with EloquaClient(settings, retry=FAST, on_token_refresh=on_refresh) as client:
            assert client.discover().user_name == sandbox.user

    assert since(before, token_requests(sandbox)) == {"200": 1}
    assert len(seen) == 1 and seen[0][0] == seen[0][1] != settings.refresh_token


def test_expired_access_token_is_refreshed_exactly_once_after_nine_hours(sandbox_factory, tmp_path):
    # an own sandbox: moving the clock of the session one would expire other tests' syncs
    box = sandbox_factory(contacts=20)
    token_file = tmp_path / "eloqua-tokens.json"
    # skip /id: with a dead bearer token Eloqua answers it HTTP 200 "Not authenticated.", which is no 401
    env = oauth_env(box, box.password_grant(), token_file, TEST_BULK_BASE=box.bulk_url)
    assert run_worker(env)["ok"] is True
    first_access = TokenStore(token_file).read().access_token
    before = token_requests(box)

    requests.post(f"{box.url}/sandbox/clock", json={"advance": "PT9H"}, timeout=10).raise_for_status()
    outcomes = run_workers_together(3, env)

    assert [o["ok"] for o in outcomes] == [True] * 3, outcomes
    assert since(before, token_requests(box)) == {"200": 1}
    # the stored token was dead (401); a worker that read the file before the refresh met it too, and then
    # took the token another one had refreshed
    assert 1 <= box.state()["requests"]["GET /contacts/fields"].get("401", 0) <= 3
    assert TokenStore(token_file).read().access_token != first_access


def test_a_new_bootstrap_token_replaces_a_dead_token_file(sandbox, tmp_path):
    token_file = tmp_path / "eloqua-tokens.json"
    dead = sandbox.password_grant()
    spend(sandbox, dead)
    TokenStore(token_file).write(StoredTokens(refresh_token=dead))

    with pytest.raises(AuthenticationError) as refused:
        EloquaClient.from_env(oauth_env(sandbox, dead, token_file), retry=FAST).discover()
    text = str(refused.value)
    assert one_line(text) and str(token_file) in text and dead not in text

    # the operator authorizes again and puts the new token in the environment
    fresh = sandbox.password_grant()
    assert run_worker(oauth_env(sandbox, fresh, token_file))["ok"] is True
    assert TokenStore(token_file).read().refresh_token not in (dead, fresh)


# --------------------------------------------------------------------------------------- the file


def test_token_file_and_lock_are_private_and_hold_the_documented_keys(sandbox, tmp_path):
    token_file = tmp_path / "eloqua-tokens.json"
    assert run_worker(oauth_env(sandbox, sandbox.password_grant(), token_file))["ok"] is True

    assert mode(token_file) == 0o600
    assert mode(tmp_path / "eloqua-tokens.json.lock") == 0o600
    content = json.loads(token_file.read_text())
    assert set(content) == {"refresh_token", "access_token", "access_token_expires_at"}
    assert content["access_token_expires_at"].endswith("Z")
    # no temp file left behind by the atomic replace
    assert sorted(p.name for p in tmp_path.iterdir()) == ["eloqua-tokens.json", "eloqua-tokens.json.lock"]


def test_rewriting_a_world_readable_token_file_makes_it_private(tmp_path):
    token_file = tmp_path / "tokens.json"
    token_file.write_text("{}")
    token_file.chmod(0o644)
    TokenStore(token_file).write(StoredTokens(refresh_token="r", access_token="a", access_token_expires_at=0.0))
    assert mode(token_file) == 0o600


@pytest.mark.parametrize("content", [
    '{"refresh_token": "secret-abc", ',  # cut short mid-write by something else than this module
    '["secret-abc"]',  # JSON, but not an object
    '{"access_token": "secret-abc"}',  # no refresh token
    '{"refresh_token": "secret-abc", "access_token_expires_at": "tomorrow"}',  # unparsable expiry
])
def test_corrupt_token_file_is_a_one_line_configuration_error_naming_the_path(sandbox, tmp_path, content):
    token_file = tmp_path / "tokens.json"
    token_file.write_text(content)
    with pytest.raises(ConfigurationError) as error:
        EloquaClient.from_env(oauth_env(sandbox, "bootstrap-xyz", token_file), retry=FAST).discover()
    text = str(error.value)
    assert one_line(text) and str(token_file) in text and "corrupt" in text
    assert "secret-abc" not in text and "bootstrap-xyz" not in text


def test_unreadable_token_file_is_a_one_line_configuration_error(sandbox, tmp_path):
    token_file = tmp_path / "tokens.json"
    token_file.mkdir()  # tests run as root, where permissions do not stop a read; a directory does
    with pytest.raises(ConfigurationError) as error:
        EloquaClient.from_env(oauth_env(sandbox, "bootstrap-xyz", token_file), retry=FAST).discover()
    text = str(error.value)
    assert one_line(text) and str(token_file) in text and "cannot read" in text


@pytest.mark.parametrize("parent", ["missing-dir", "a-file"])
def test_unwritable_token_directory_is_a_one_line_configuration_error(sandbox, tmp_path, parent):
    (tmp_path / "a-file").write_text("")
    token_file = tmp_path / parent / "tokens.json"
    before = token_requests(sandbox)
    with pytest.raises(ConfigurationError) as error:
        EloquaClient.from_env(oauth_env(sandbox, "bootstrap-xyz", token_file), retry=FAST).discover()
    text = str(error.value)
    assert one_line(text) and str(token_file) in text and "cannot write" in text and "bootstrap-xyz" not in text
    # found before any refresh token was spent
    assert since(before, token_requests(sandbox)) == {}


def test_missing_token_file_without_a_bootstrap_token_is_a_one_line_configuration_error(sandbox, tmp_path):
    token_file = tmp_path / "tokens.json"
    with pytest.raises(ConfigurationError) as error:
        EloquaClient.from_env(oauth_env(sandbox, None, token_file), retry=FAST).discover()
    text = str(error.value)
    assert one_line(text) and str(token_file) in text and "ELOQUA_REFRESH_TOKEN" in text


def test_settings_read_the_token_file_and_need_the_refresh_token_only_without_it(tmp_path):
    env = {"ELOQUA_CLIENT_ID": "app", "ELOQUA_CLIENT_SECRET": "s", "ELOQUA_TOKEN_FILE": str(tmp_path / "t.json")}
    settings = EloquaSettings.from_env(env)
    assert settings.token_file == tmp_path / "t.json" and settings.refresh_token is None
    with pytest.raises(ConfigurationError, match="ELOQUA_REFRESH_TOKEN"):
        EloquaSettings.from_env({k: v for k, v in env.items() if k != "ELOQUA_TOKEN_FILE"})
    with_token = EloquaSettings.from_env({**env, "ELOQUA_REFRESH_TOKEN": "secret-rt"})
    assert "secret-rt" not in repr(with_token) and str(tmp_path / "t.json") in repr(with_token)
    assert "secret-rt" not in repr(StoredTokens(refresh_token="secret-rt", access_token="secret-at"))


def test_discovery_renews_a_bearer_token_eloqua_no_longer_accepts(sandbox_factory):
    # an own sandbox: moving the clock of the session one would expire other tests' syncs
    box = sandbox_factory(contacts=20)
    settings = EloquaSettings.oauth(box.client_id, box.client_secret, box.password_grant(), login_url=box.url)
    with EloquaClient(settings, retry=FAST) as first:
        first.discover()
        stale = first._auth.apply({})
    requests.post(f"{box.url}/sandbox/clock", json={"advance": "PT9H"}, timeout=10).raise_for_status()
    before = token_requests(box)

    with EloquaClient(settings, retry=FAST) as client:
        client._auth._access_token, client._auth._refresh_token = stale, first._auth._refresh_token
        client._auth._expires_at = float("inf")  # the client believes its token is alive; Eloqua does not
        assert client.discover().user_name == box.user

    assert since(before, token_requests(box)) == {"200": 1}
