"""Login host: discovery with Basic and Bearer credentials, the OAuth2 token endpoint, refresh rotation."""

from __future__ import annotations

import pytest
import requests

from tests.fixtures.sandbox import SandboxHandle

pytestmark = pytest.mark.integration


def token(
    sb: SandboxHandle, form: dict[str, str], client: tuple[str, str] | None = None
) -> requests.Response:
    return requests.post(
        f"{sb.url}/auth/oauth2/token", data=form, timeout=10, auth=client or (sb.client_id, sb.client_secret)
    )


def password_grant(sb: SandboxHandle) -> dict:
    response = token(
        sb,
        {
            "grant_type": "password",
            "scope": "full",
            "username": f"{sb.site}\\{sb.user}",
            "password": sb.password,
        },
    )
    assert response.status_code == 200, response.text
    return response.json()


@pytest.mark.parametrize(
    "auth",
    [
        ("SCCSandbox\\scc.api", "wrong"),  # wrong password
        ("OtherSite\\scc.api", "scc-sandbox"),  # wrong site
        ("scc.api", "scc-sandbox"),  # no site
        ("SCCSandbox\\nobody", "scc-sandbox"),  # unknown user
    ],
)
def test_bad_credentials_get_200_not_authenticated(sandbox: SandboxHandle, auth: tuple[str, str]) -> None:
    response = requests.get(f"{sandbox.url}/id", auth=auth, timeout=10)
    assert response.status_code == 200
    assert response.json() == "Not authenticated."
    assert len(response.content) == 20


def test_no_credentials_get_200_not_authenticated(sandbox: SandboxHandle) -> None:
    response = requests.get(f"{sandbox.url}/id", timeout=10)
    assert (response.status_code, response.json()) == (200, "Not authenticated.")


def test_bulk_routes_refuse_bad_credentials_with_401(sandbox: SandboxHandle) -> None:
    response = requests.get(
        f"{sandbox.bulk_url}/contacts/fields", auth=("SCCSandbox\\scc.api", "x"), timeout=10
    )
    assert response.status_code == 401


def test_basic_auth_site_and_user_are_case_insensitive(sandbox: SandboxHandle) -> None:
    body = requests.get(
        f"{sandbox.url}/id", auth=("sccsandbox\\SCC.API", sandbox.password), timeout=10
    ).json()
    assert body["user"]["username"] == sandbox.user


def test_password_grant_gives_a_bearer_token_that_works_for_discovery_and_bulk(
    sandbox: SandboxHandle,
) -> None:
    grant = password_grant(sandbox)
    assert grant["token_type"] == "bearer" and grant["expires_in"] == 28800 and grant["refresh_token"]
    bearer = {"Authorization": f"Bearer {grant['access_token']}"}
    assert (
        requests.get(f"{sandbox.url}/id", headers=bearer, timeout=10).json()["user"]["username"]
        == sandbox.user
    )
    assert requests.get(f"{sandbox.bulk_url}/contacts/fields", headers=bearer, timeout=10).status_code == 200
    bogus = {"Authorization": "Bearer not-a-token"}
    assert requests.get(f"{sandbox.url}/id", headers=bogus, timeout=10).json() == "Not authenticated."


def test_json_password_grant_is_accepted(sandbox: SandboxHandle) -> None:
    response = requests.post(
        f"{sandbox.url}/auth/oauth2/token",
        timeout=10,
        auth=(sandbox.client_id, sandbox.client_secret),
        json={
            "grant_type": "password",
            "scope": "full",
            "username": f"{sandbox.site}\\{sandbox.user}",
            "password": sandbox.password,
        },
    )
    assert response.status_code == 200 and response.json()["access_token"]


def test_refresh_rotates_and_an_old_refresh_token_is_refused(sandbox: SandboxHandle) -> None:
    first = password_grant(sandbox)
    refreshed = token(
        sandbox,
        {
            "grant_type": "refresh_token",
            "refresh_token": first["refresh_token"],
            "scope": "full",
            "redirect_uri": "https://localhost/cb",
        },
    )
    assert refreshed.status_code == 200
    second = refreshed.json()
    assert second["refresh_token"] != first["refresh_token"]
    assert second["access_token"] != first["access_token"]
    reused = token(sandbox, {"grant_type": "refresh_token", "refresh_token": first["refresh_token"]})
    assert (reused.status_code, reused.json()["error"]) == (400, "invalid_grant")
    # Since 26B a refresh does not revoke earlier access tokens.
    old = {"Authorization": f"Bearer {first['access_token']}"}
    assert (
        requests.get(f"{sandbox.url}/id", headers=old, timeout=10).json()["user"]["username"] == sandbox.user
    )
    again = token(sandbox, {"grant_type": "refresh_token", "refresh_token": second["refresh_token"]})
    assert again.status_code == 200


def test_token_endpoint_errors(sandbox: SandboxHandle) -> None:
    form = {
        "grant_type": "password",
        "username": f"{sandbox.site}\\{sandbox.user}",
        "password": sandbox.password,
    }
    assert token(sandbox, form, client=("scc-sandbox-client", "wrong")).status_code == 401
    bad_user = token(sandbox, {**form, "password": "nope"})
    assert (bad_user.status_code, bad_user.json()["error"]) == (400, "invalid_grant")
    unsupported = token(sandbox, {"grant_type": "client_credentials"})
    assert unsupported.json()["error"] == "unsupported_grant_type"


def test_access_tokens_expire_after_eight_hours(sandbox_factory) -> None:
    sb = sandbox_factory(contacts=5)
    bearer = {"Authorization": f"Bearer {password_grant(sb)['access_token']}"}
    requests.post(f"{sb.url}/sandbox/clock", json={"advance": "PT7H59M"}, timeout=10).raise_for_status()
    assert requests.get(f"{sb.url}/id", headers=bearer, timeout=10).json() != "Not authenticated."
    requests.post(f"{sb.url}/sandbox/clock", json={"advance": "PT2M"}, timeout=10).raise_for_status()
    assert requests.get(f"{sb.url}/id", headers=bearer, timeout=10).json() == "Not authenticated."


def test_credentials_can_be_overridden(sandbox_factory) -> None:
    sb = sandbox_factory(
        contacts=5, site="Acme", user="jane", password="s3cret", env={"SCC_SANDBOX_CLIENT_ID": "acme-app"}
    )
    assert sb.client_id == "acme-app"
    body = requests.get(f"{sb.url}/id", auth=("Acme\\jane", "s3cret"), timeout=10).json()
    assert body["site"]["name"] == "Acme" and body["user"]["username"] == "jane"
    assert (
        requests.get(f"{sb.url}/id", auth=("SCCSandbox\\scc.api", "scc-sandbox"), timeout=10).json()
        == "Not authenticated."
    )
    assert password_grant(sb)["access_token"]
