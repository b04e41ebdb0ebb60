"""The Eloqua Bulk API 2.0 client: the only code in the project that speaks HTTP to Eloqua.

Discovers the pod's Bulk base URL through ``{login}/id``, authenticates with Basic or OAuth2 (see
``eloqua.auth``), and wraps definitions, syncs, data paging, logs and rejects. Every call retries 429, 5xx,
dropped connections and truncated bodies with exponential backoff and full jitter, bounded in attempts and in
total time (Eloqua sends no Retry-After); other 4xx answers are never retried and become typed errors
(``eloqua.errors``).

    client = EloquaClient.from_env()               # ELOQUA_* variables, see eloqua.settings
    definition = client.create_export("contacts", {...})
    sync = client.create_sync(definition["uri"])
    client.wait_for_sync(sync["uri"])
    for page in client.iter_sync_data(sync["uri"]): ...

``uri`` arguments are the relative uris Eloqua returns (``/syncs/12``, ``/contacts/exports/3``).
"""

from __future__ import annotations

import json
import logging
import random
import re
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar
from urllib.parse import urlsplit

import requests
import urllib3.exceptions
from requests.adapters import HTTPAdapter

from eloqua.auth import Authorizer, BasicAuthorizer, OAuth2Authorizer, TokenCallback
from eloqua.errors import (
    AuthenticationError,
    Conflict,
    EloquaError,
    EloquaUnreachable,
    Expired,
    HttpError,
    MalformedResponse,
    NotFound,
    RetryExhausted,
    SyncFailed,
    SyncTimeout,
    ValidationError,
    one_line,
)
from eloqua.settings import EloquaSettings

log = logging.getLogger(__name__)

T = TypeVar("T")

MAX_DATA_LIMIT = 50_000
MAX_LIST_LIMIT = 1_000
MAX_IMPORT_POST_BYTES = 32 * 1024 * 1024
TERMINAL_STATUSES = ("success", "warning", "error")
_SYNC_URI = re.compile(r"^/syncs/\d+(/data)?/?$", re.IGNORECASE)


@dataclass(frozen=True)
class RetryPolicy:
    """Exponential backoff with full jitter: before retry ``n`` sleep ``uniform(0, min(max_delay,
    base*2**(n-1)))``.

    Gives up after ``max_attempts`` attempts or once ``max_elapsed`` seconds would be exceeded, whichever
    first.
    """

    max_attempts: int = 8
    base_delay: float = 0.5
    max_delay: float = 30.0
    max_elapsed: float = 600.0

    def delay(self, attempt: int) -> float:
        return random.uniform(0.0, min(self.max_delay, self.base_delay * 2 ** (attempt - 1)))


# Discovery is the first contact: a wrong or dead login host should fail in seconds, not minutes.
DISCOVERY_RETRY = RetryPolicy(max_attempts=3, base_delay=0.2, max_delay=1.0, max_elapsed=10.0)


@dataclass(frozen=True)
class Discovery:
    """What ``/id`` said: the site, the user and the Bulk base URL
    (``https://secure.pNN.eloqua.com/api/bulk/2.0``)."""

    site_name: str
    user_name: str
    base_url: str
    bulk_base: str


class _Retryable(Exception):
    """Internal: one attempt failed in a way worth retrying."""

    def __init__(self, reason: str, status: int | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        self.status = status


def _json(response: requests.Response) -> Any:
    """The JSON body of a 2xx response; a truncated or non-JSON body is retryable."""
    if not response.content:
        return None
    try:
        return json.loads(response.content)
    except ValueError:
        raise MalformedResponse(
            f"{response.request.method} {urlsplit(response.url).path} answered HTTP {response.status_code} "
            f"with a body that is not complete JSON ({len(response.content)} bytes)") from None


def _describe_failures(failures: Sequence[Mapping[str, Any]]) -> str:
    parts = []
    for failure in failures[:10]:
        field = failure.get("field") or failure.get("property") or "?"
        value = failure.get("value")
        constraint = failure.get("constraint") or failure.get("requirement") or failure.get("message") or ""
        text = str(field) + (f"={one_line(value, 80)!r}" if value not in (None, "") else "")
        parts.append(f"{text}: {one_line(constraint, 120)}" if constraint else text)
    if len(failures) > 10:
        parts.append(f"... and {len(failures) - 10} more")
    return "; ".join(parts)


def entity_path(entity: str) -> str:
    """``contacts``/``accounts``/``activities``/``customObjects/{id}``, validated, without slashes around
    it."""
    path = entity.strip("/")
    if path in ("contacts", "accounts", "activities") or re.fullmatch(r"customObjects/\d+", path):
        return path
    raise ValueError(
        f"unknown Eloqua entity {entity!r}: use contacts, accounts, activities or customObjects/<id>")


def uri_id(uri: str) -> str:
    """The trailing id of a uri: ``/customObjects/9`` -> ``9``."""
    return uri.rstrip("/").rsplit("/", 1)[-1]


class EloquaClient:
    """A thread-safe Bulk API 2.0 client over one ``requests.Session``.

    ``bulk_base`` is discovered lazily on the first API call (or passed in to skip discovery). ``retry``
    governs every API call; ``timeout`` is (connect, read) seconds per attempt. ``pool_size`` bounds
    connections, so set it at least to the number of threads sharing the client.
    """

    def __init__(
        self,
        settings: EloquaSettings,
        *,
        on_token_refresh: TokenCallback | None = None,
        retry: RetryPolicy | None = None,
        discovery_retry: RetryPolicy = DISCOVERY_RETRY,
        timeout: tuple[float, float] = (10.0, 300.0),
        discovery_timeout: tuple[float, float] = (5.0, 15.0),
        bulk_base: str | None = None,
        pool_size: int = 16,
        user_agent: str = "scc-eloqua/0.1",
    ) -> None:
        self.settings = settings
        self.retry = retry or RetryPolicy()
        self.discovery_retry = discovery_retry
        self.timeout = timeout
        # /id and the token endpoint answer in milliseconds: a login host that accepts and never answers
        # must fail the preflight in seconds, not after a data page's read timeout.
        self.discovery_timeout = discovery_timeout
        self.session = requests.Session()
        adapter = HTTPAdapter(pool_connections=4, pool_maxsize=pool_size, max_retries=0)
        self.session.mount("http://", adapter)
        self.session.mount("https://", adapter)
        self.session.headers["User-Agent"] = user_agent
        self.session.headers["Accept"] = "application/json"
        self._auth: Authorizer
        if settings.auth_method == "oauth":
            self._auth = OAuth2Authorizer(settings, self._post_token, on_token_refresh)
        else:
            self._auth = BasicAuthorizer(settings)
        self._discovery: Discovery | None = None
        self._bulk_base = bulk_base.rstrip("/") if bulk_base else None
        self._discover_lock = threading.Lock()

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None, **kwargs: Any) -> EloquaClient:
        """A client configured from ``ELOQUA_*`` variables (see ``eloqua.settings``); kwargs as for
        ``__init__``."""
        return cls(EloquaSettings.from_env(env), **kwargs)

    def __repr__(self) -> str:
        return f"EloquaClient({self.settings.account}, login={self.settings.login_url!r})"

    def close(self) -> None:
        self.session.close()

    def __enter__(self) -> EloquaClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # ------------------------------------------------------------------ transport

    def _send(
        self,
        method: str,
        url: str,
        *,
        what: str,
        params: Mapping[str, Any] | None = None,
        body: bytes | None = None,
        headers: Mapping[str, str] | None = None,
        authenticate: bool = True,
        policy: RetryPolicy | None = None,
        parse: Callable[[requests.Response], T],
        expired_on_404: bool = False,
        before_retry: Callable[[], T | None] | None = None,
        stream: bool = False,
        timeout: tuple[float, float] | None = None,
    ) -> T:
        """One logical request: retries, 401 renewal, error typing; returns ``parse(response)`` of a 2xx
        answer.

        ``parse`` may raise MalformedResponse, which is retried like a dropped connection.
        ``before_retry`` runs before each retry; a non-None result is returned instead of retrying (for POSTs
        that may have been processed although the answer was lost).
        """
        policy = policy or self.retry
        started = time.monotonic()
        attempt = 0
        renewed = False
        only_connection_failures = True
        last: _Retryable | None = None
        while True:
            attempt += 1
            request_headers = dict(headers or {})
            used = self._auth.apply(request_headers) if authenticate else None
            try:
                try:
                    response = self.session.request(method, url, params=params, data=body, stream=stream,
                                                    headers=request_headers, timeout=timeout or self.timeout)
                except (requests.ConnectionError, requests.Timeout) as exc:
                    raise _Retryable(_connection_reason(exc)) from None
                except (requests.exceptions.ChunkedEncodingError,
                        requests.exceptions.ContentDecodingError) as exc:
                    only_connection_failures = False
                    raise _Retryable(f"truncated response ({type(exc).__name__})") from None
                status = response.status_code
                if status == 401 and authenticate and self._auth.can_renew() and not renewed:
                    renewed = True
                    self._auth.renew(used)
                    attempt -= 1
                    continue
                if status == 429 or status >= 500:
                    only_connection_failures = False
                    response.close()
                    raise _Retryable(f"HTTP {status}", status)
                if status >= 400:
                    raise self._http_error(method, url, what, response, expired_on_404)
                try:
                    return parse(response)
                except MalformedResponse as exc:
                    only_connection_failures = False
                    raise _Retryable(str(exc), status) from None
                except (requests.RequestException, urllib3.exceptions.HTTPError, OSError) as exc:
                    # a streamed body cut short: the connection dropped or timed out mid-read
                    only_connection_failures = False
                    response.close()
                    raise _Retryable(f"truncated response ({type(exc).__name__})", status) from None
            except _Retryable as failure:
                last = failure
            elapsed = time.monotonic() - started
            delay = policy.delay(attempt)
            if attempt >= policy.max_attempts or elapsed + delay > policy.max_elapsed:
                break
            log.warning("Eloqua %s failed (%s), attempt %d/%d; retrying in %.1fs",
                        what, last.reason, attempt, policy.max_attempts, delay)
            time.sleep(delay)
            if before_retry is not None:
                recovered = before_retry()
                if recovered is not None:
                    log.warning("Eloqua %s had been processed although its answer was lost", what)
                    return recovered
        elapsed = time.monotonic() - started
        host = urlsplit(url).netloc
        if only_connection_failures:
            raise EloquaUnreachable(
                f"cannot reach Eloqua at {host} for {what}: {last.reason}"
                f" ({attempt} attempts in {elapsed:.1f}s);"
                " check the URL (ELOQUA_LOGIN_URL), the network and Eloqua's system status")
        raise RetryExhausted(
            f"Eloqua {what} kept failing: {last.reason} ({attempt} attempts in {elapsed:.1f}s);"
            " Eloqua is throttling or unwell: retry later and check Eloqua's system status",
            attempts=attempt, last_status=last.status)

    def _http_error(self, method: str, url: str, what: str, response: requests.Response,
                    expired_on_404: bool) -> EloquaError:
        status = response.status_code
        try:
            body: Any = response.json()
        except ValueError:
            body = response.text
        uri = urlsplit(url).path
        if isinstance(body, dict):
            detail = body.get("message") or body.get("error") or ""
            failures = body.get("failures") or []
        elif isinstance(body, list) and body and isinstance(body[0], dict):
            detail, failures = "", body
        else:
            detail, failures = body or response.reason or "", []
        detail = one_line(detail, 200)
        kwargs: dict[str, Any] = {"status": status, "method": method, "uri": uri, "body": body}
        if status == 400:
            listed = _describe_failures(failures) if failures else detail or "no details"
            return ValidationError(f"Eloqua rejected {what} (HTTP 400): {listed}; fix the request and retry",
                                   failures=failures, **kwargs)
        if status in (404, 410):
            if expired_on_404 or _SYNC_URI.search(self._relative(url)):
                return Expired(f"Eloqua answered HTTP {status} for {what}: the sync or its data has expired"
                               " or does not exist; start a new sync", **kwargs)
            return NotFound(f"Eloqua answered HTTP {status} for {what}: not found"
                            + (f" ({detail})" if detail else ""), **kwargs)
        if status == 409:
            suffix = f" ({detail})" if detail else ""
            return Conflict(f"Eloqua answered HTTP 409 for {what}: conflict{suffix};"
                            " wait for the running sync to finish", **kwargs)
        if status in (401, 403):
            return AuthenticationError(
                f"Eloqua refused {what} for {self.settings.account} (HTTP {status}"
                + (f" {detail}" if detail else "")
                + "): check the credentials and the user's API permissions")
        suffix = f": {detail}" if detail else ""
        return HttpError(f"Eloqua answered HTTP {status} for {what}{suffix}", **kwargs)

    def _post_token(self, url: str, headers: dict[str, str], body: dict[str, Any]) -> Any:
        return self._send("POST", url, what="OAuth2 token refresh", body=json.dumps(body).encode(),
                          headers=headers, authenticate=False, policy=self.discovery_retry, parse=_json,
                          timeout=self.discovery_timeout)

    # ------------------------------------------------------------------ discovery and URLs

    def discover(self) -> Discovery:
        """``GET {login}/id``: verify the credentials and find the pod's Bulk base URL (cached)."""
        with self._discover_lock:
            if self._discovery is not None:
                return self._discovery
            url = self.settings.login_url.rstrip("/") + "/id"
            answer = self._send("GET", url, what="base URL discovery (GET /id)",
                                policy=self.discovery_retry, parse=_json,
                                timeout=self.discovery_timeout)
            if answer == "Not authenticated." and self._auth.can_renew():
                # /id answers a dead bearer token with 200 "Not authenticated.", never 401: renew it once.
                self._auth.renew(self._auth.apply({}))
                answer = self._send("GET", url, what="base URL discovery (GET /id)",
                                    policy=self.discovery_retry, parse=_json,
                                timeout=self.discovery_timeout)
            if answer == "Not authenticated." or not isinstance(answer, dict):
                raise AuthenticationError(
                    f"Eloqua rejected the credentials for {self.settings.account}"
                    " (HTTP 200 \"Not authenticated.\""
                    f" from {url}): check ELOQUA_SITE/ELOQUA_USER/ELOQUA_PASSWORD or the OAuth2 settings")
            urls = answer.get("urls") or {}
            rest = (urls.get("apis") or {}).get("rest") or {}
            bulk = str(rest.get("bulk") or "").replace("{version}", "2.0")
            base = str(urls.get("base") or "").rstrip("/")
            if not bulk:
                if not base:
                    raise MalformedResponse(
                        f"{url} answered without urls.base: is ELOQUA_LOGIN_URL an Eloqua login host?")
                bulk = base + "/api/bulk/2.0"
            self._discovery = Discovery(
                site_name=str((answer.get("site") or {}).get("name") or ""),
                user_name=str((answer.get("user") or {}).get("username") or ""),
                base_url=base,
                bulk_base=bulk.rstrip("/"),
            )
            if self._bulk_base is None:
                self._bulk_base = self._discovery.bulk_base
            return self._discovery

    @property
    def bulk_base(self) -> str:
        """``https://secure.pNN.eloqua.com/api/bulk/2.0`` (no trailing slash), discovering it if needed."""
        if self._bulk_base is None:
            self.discover()
        assert self._bulk_base is not None
        return self._bulk_base

    def url(self, uri: str) -> str:
        """Absolute URL of a Bulk uri; joins with exactly one slash."""
        if uri.startswith(("http://", "https://")):
            return uri
        return self.bulk_base + "/" + uri.lstrip("/")

    def _relative(self, url: str) -> str:
        base = self._bulk_base or ""
        return "/" + url[len(base):].lstrip("/") if base and url.startswith(base) else urlsplit(url).path

    # ------------------------------------------------------------------ generic verbs

    def request_json(self, method: str, uri: str, *, params: Mapping[str, Any] | None = None,
                     json_body: Any = None, expired_on_404: bool = False) -> Any:
        """Send a Bulk API request (JSON in, JSON out); ``None`` for an empty (204) answer."""
        headers = {}
        body = None
        if json_body is not None or method in ("POST", "PUT"):
            headers["Content-Type"] = "application/json"
            body = json.dumps(json_body if json_body is not None else {}).encode()
        return self._send(method, self.url(uri), what=f"{method} {uri}", params=params, body=body,
                          headers=headers, parse=_json, expired_on_404=expired_on_404)

    def get_bytes(self, uri: str, *, params: Mapping[str, Any] | None = None,
                  parse: Callable[[Any], T] | None = None, expired_on_404: bool = False,
                  allocate: Callable[[int], Any] | None = None, accept: str | None = None) -> Any:
        """GET the raw body (read straight into one buffer of the announced length);
        ``parse(body)`` runs inside the retry loop (raise MalformedResponse to retry). ``allocate(n)`` may
        supply the writable buffer (e.g. from an allocator that returns memory to the OS at once).
        ``accept`` replaces the default ``Accept: application/json`` (e.g. ``text/csv``)."""

        def handle(response: requests.Response) -> Any:
            body = read_body(response, allocate=allocate)
            return parse(body) if parse is not None else body

        return self._send("GET", self.url(uri), what=f"GET {uri}", params=params, parse=handle,
                          headers={"Accept": accept} if accept else None,
                          expired_on_404=expired_on_404, stream=True)

    def iter_items(self, uri: str, *, params: Mapping[str, Any] | None = None,
                   limit: int = MAX_LIST_LIMIT, offset: int = 0) -> Iterator[dict[str, Any]]:
        """Every item of a paged Bulk list (``items`` may be absent), advancing ``offset`` by the items
        received."""
        while True:
            page = self.request_json("GET", uri, params={**(params or {}), "limit": limit, "offset": offset})
            items = (page or {}).get("items") or []
            yield from items
            offset += len(items)
            if not items or not page.get("hasMore"):
                return

    # ------------------------------------------------------------------ definitions

    def create_export(self, entity: str, definition: Mapping[str, Any]) -> dict[str, Any]:
        """POST ``/{entity}/exports``; returns the stored definition with its ``uri``. 400 ->
        ValidationError."""
        return self.request_json("POST", f"/{entity_path(entity)}/exports", json_body=dict(definition))

    def create_import(self, entity: str, definition: Mapping[str, Any]) -> dict[str, Any]:
        """POST ``/{entity}/imports``; returns the stored definition with its ``uri``. 400 ->
        ValidationError."""
        return self.request_json("POST", f"/{entity_path(entity)}/imports", json_body=dict(definition))

    def get_definition(self, uri: str) -> dict[str, Any]:
        """GET an export or import definition by its uri. 404 -> NotFound."""
        return self.request_json("GET", uri)

    def delete_definition(self, uri: str, *, missing_ok: bool = True) -> None:
        """DELETE an export or import definition (204). A definition already gone is fine unless
        ``missing_ok``."""
        try:
            self.request_json("DELETE", uri)
        except NotFound:
            if not missing_ok:
                raise

    # ------------------------------------------------------------------ metadata

    def list_custom_objects(self) -> Iterator[dict[str, Any]]:
        return self.iter_items("/customObjects")

    def find_custom_object(self, name: str) -> dict[str, Any]:
        """The custom object named ``name`` (exact, else case-insensitive); EloquaError listing the names
        otherwise."""
        objects = list(self.list_custom_objects())
        for match in (lambda o: o.get("name") == name,
                      lambda o: str(o.get("name", "")).casefold() == name.casefold()):
            found = [o for o in objects if match(o)]
            if len(found) == 1:
                return found[0]
        names = ", ".join(repr(o.get("name")) for o in objects[:20]) or "none"
        raise EloquaError(
            f"Eloqua has no custom object named {name!r} (found {names}): check the name in Eloqua")

    def list_custom_object_fields(self, custom_object: str | int) -> Iterator[dict[str, Any]]:
        """Fields of ``/customObjects/{id}`` (id or uri)."""
        return self.iter_items(f"/customObjects/{uri_id(str(custom_object))}/fields")

    def resolve_statements(self, custom_object: str | int, field_names: Sequence[str]) -> dict[str, str]:
        """Map CDO field names (display ``name``, else ``internalName``) to their EML statements."""
        fields = list(self.list_custom_object_fields(custom_object))
        statements: dict[str, str] = {}
        missing = []
        for wanted in field_names:
            found = [f for f in fields if f.get("name") == wanted] or [
                f for f in fields if f.get("internalName") == wanted]
            if found and found[0].get("statement"):
                statements[wanted] = str(found[0]["statement"])
            else:
                missing.append(wanted)
        if missing:
            raise EloquaError(f"custom object {uri_id(str(custom_object))} has no field named "
                              f"{', '.join(map(repr, missing))}: check the custom object's fields in Eloqua")
        return statements

    # ------------------------------------------------------------------ syncs

    def create_sync(self, synced_instance_uri: str, callback_url: str | None = None, *,
                    new_definition: bool = False) -> dict[str, Any]:
        """POST ``/syncs`` for an export or import definition; returns the sync (``uri``, ``status``).

        ``new_definition``: the definition was just created and has no syncs yet (saves one lookup).
        """
        body: dict[str, Any] = {"syncedInstanceUri": synced_instance_uri}
        if callback_url:
            body["callbackUrl"] = callback_url
        # A lost answer (dropped connection, 5xx after processing) must not start a second sync of the same
        # definition (Eloqua fails or corrupts concurrent syncs of one definition): before re-POSTing, adopt
        # a sync of this definition that did not exist before the first attempt.
        known = set() if new_definition else self._sync_uris_of(synced_instance_uri)

        def adopt() -> dict[str, Any] | None:
            syncs = self.syncs_of(synced_instance_uri) if known is not None else None
            fresh = [s for s in syncs or [] if known is not None and s.get("uri") not in known]
            return max(fresh, key=lambda s: int(uri_id(str(s["uri"])))) if fresh else None

        return self._send("POST", self.url("/syncs"), what="POST /syncs", body=json.dumps(body).encode(),
                          headers={"Content-Type": "application/json"}, parse=_json, before_retry=adopt)

    def syncs_of(self, synced_instance_uri: str) -> list[dict[str, Any]] | None:
        """Every sync of one definition (``GET /syncs?q=syncedInstanceUri='...'``, filtered exactly), or None
        when Eloqua refuses that search."""
        try:
            search = {"q": f"syncedInstanceUri='{synced_instance_uri}'"}
            items = list(self.iter_items("/syncs", params=search))
        except HttpError as exc:
            log.warning("cannot list the syncs of %s (%s); a lost POST /syncs answer will be retried",
                        synced_instance_uri, exc)
            return None
        wanted = synced_instance_uri.rstrip("/").lower()
        return [s for s in items if str(s.get("syncedInstanceUri", "")).rstrip("/").lower() == wanted]

    def _sync_uris_of(self, synced_instance_uri: str) -> set[str] | None:
        syncs = self.syncs_of(synced_instance_uri)
        return None if syncs is None else {str(s.get("uri")) for s in syncs}

    def get_sync(self, sync_uri: str) -> dict[str, Any]:
        """GET a sync. 404/410 -> Expired."""
        return self.request_json("GET", sync_uri, expired_on_404=True)

    def wait_for_sync(
        self,
        sync_uri: str,
        *,
        timeout: float = 6 * 3600.0,
        initial_delay: float = 0.2,
        max_delay: float = 30.0,
        accept_warning: bool = True,
        on_status: Callable[[dict[str, Any]], None] | None = None,
    ) -> dict[str, Any]:
        """Poll until the sync is terminal; return it on ``success`` (and ``warning`` if ``accept_warning``).

        The delay grows by 1.5x from ``initial_delay`` to ``max_delay``. ``error`` (or an unaccepted
        ``warning``) raises SyncFailed with the log's ELQ codes; no terminal state within ``timeout`` seconds
        raises SyncTimeout.
        """
        deadline = time.monotonic() + timeout
        delay = initial_delay
        status: str | None = None
        while True:
            sync = self.get_sync(sync_uri)
            status = str(sync.get("status"))
            if on_status is not None:
                on_status(sync)
            if status == "success" or (status == "warning" and accept_warning):
                return sync
            if status in ("error", "warning"):
                logs = self.sync_logs(sync_uri)
                summary = "; ".join(f"{i.get('statusCode')} {one_line(i.get('message', ''), 80)}"
                                    + (f" (count {i['count']})" if i.get("count") not in (None, "") else "")
                                    for i in logs[:6]) or "no log entries"
                instance = sync.get("syncedInstanceUri")
                raise SyncFailed(f"Eloqua sync {sync_uri} of {instance} ended in {status}: "
                                 f"{summary}; fix the definition or data and start a new sync",
                                 sync_uri=sync_uri, status=status, logs=logs)
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                raise SyncTimeout(
                    f"Eloqua sync {sync_uri} still {status} after {timeout:.0f}s: Eloqua is busy;"
                    " rerun later (the sync keeps running and can be resumed)",
                    sync_uri=sync_uri, last_status=status)
            time.sleep(min(delay, remaining))
            delay = min(max_delay, delay * 1.5)

    def get_sync_data(self, sync_uri: str, *, limit: int = MAX_DATA_LIMIT, offset: int = 0,
                      total_results: bool = True) -> dict[str, Any]:
        """One page of ``/syncs/{id}/data`` as parsed JSON (``items`` defaulted to ``[]``). 404/410 ->
        Expired."""
        params: dict[str, Any] = {"limit": _check_limit(limit, MAX_DATA_LIMIT), "offset": offset}
        if not total_results:
            params["totalResults"] = "false"
        page = self.request_json("GET", sync_uri.rstrip("/") + "/data", params=params, expired_on_404=True)
        if not isinstance(page, dict):
            raise MalformedResponse(f"GET {sync_uri}/data answered {type(page).__name__}, expected an object")
        page.setdefault("items", [])
        return page

    def get_sync_data_raw(self, sync_uri: str, *, limit: int, offset: int,
                          parse: Callable[[Any], T] | None = None,
                          allocate: Callable[[int], Any] | None = None, csv: bool = False) -> Any:
        """One page of ``/syncs/{id}/data`` as the raw bytes, or ``parse(bytes)`` retried on
        MalformedResponse. The body is JSON, or with ``csv`` (``Accept: text/csv``) a header row of the
        definition's field names and one CSV line per row (no totalResults: probe with JSON)."""
        params = {"limit": _check_limit(limit, MAX_DATA_LIMIT), "offset": offset}
        return self.get_bytes(sync_uri.rstrip("/") + "/data", params=params, parse=parse, expired_on_404=True,
                              allocate=allocate, accept="text/csv" if csv else None)

    def iter_sync_data(self, sync_uri: str, *, limit: int = MAX_DATA_LIMIT,
                       offset: int = 0) -> Iterator[list[dict[str, Any]]]:
        """Pages (lists of row dicts, string values) of a finished export sync, from ``offset`` to the end."""
        while True:
            page = self.get_sync_data(sync_uri, limit=limit, offset=offset)
            items = page["items"]
            if items:
                yield items
            offset += len(items)
            if not items or not page.get("hasMore"):
                return

    def delete_sync_data(self, sync_uri: str) -> None:
        """DELETE ``/syncs/{id}/data`` (204) once it has been read. 409 -> Conflict."""
        self.request_json("DELETE", sync_uri.rstrip("/") + "/data")

    def sync_logs(self, sync_uri: str) -> list[dict[str, Any]]:
        """Every log entry of a sync (``statusCode`` ELQ-xxxxx, ``message``, ``count``, ``severity``)."""
        return list(self.iter_items(sync_uri.rstrip("/") + "/logs"))

    def iter_rejects(self, sync_uri: str, *, limit: int = MAX_LIST_LIMIT) -> Iterator[dict[str, Any]]:
        """Rejected rows of an import sync (``fieldValues``, ``message``, ``statusCode``, ``recordIndex``)."""
        return self.iter_items(sync_uri.rstrip("/") + "/rejects", limit=_check_limit(limit, MAX_LIST_LIMIT))

    # ------------------------------------------------------------------ import data

    def post_import_data(self, import_uri: str, data: Sequence[Mapping[str, Any]] | str | bytes, *,
                         content_type: str | None = None,
                         retry: RetryPolicy | None = None) -> dict[str, Any] | None:
        """POST rows to ``{import uri}/data``: a list of dicts (JSON) or CSV text (``text/csv``, header
        first).

        Returns None on 204, or the sync Eloqua started (201, when the definition triggers on import). One
        POST must stay under 32 MB (Eloqua answers 404 above it): chunk larger payloads. ``retry`` replaces
        the client's policy: a retried POST whose first answer was lost stages its rows twice, so a caller
        that must know exactly what is staged passes ``RetryPolicy(max_attempts=1)`` and decides itself.
        """
        if isinstance(data, (str, bytes)):
            body = data.encode() if isinstance(data, str) else data
            content_type = content_type or "text/csv"
        else:
            body = json.dumps(list(data), separators=(",", ":")).encode()
            content_type = content_type or "application/json"
        if len(body) > MAX_IMPORT_POST_BYTES:
            raise ValueError(
                f"import POST of {len(body)} bytes exceeds Eloqua's 32 MB limit: send smaller chunks")
        uri = import_uri.rstrip("/") + "/data"
        return self._send("POST", self.url(uri), what=f"POST {uri}", body=body, policy=retry,
                          headers={"Content-Type": f"{content_type}; charset=utf-8"}, parse=_json)

    def delete_import_data(self, import_uri: str) -> None:
        """DELETE staged, unsynced import data (204). 409 while a sync on it runs -> Conflict."""
        self.request_json("DELETE", import_uri.rstrip("/") + "/data")


def read_body(response: requests.Response, chunk: int = 1 << 20,
              allocate: Callable[[int], Any] | None = None) -> Any:
    """The whole body of a streamed response, read into one preallocated buffer when its length is known
    (no list of chunks joined at the end: a page costs its size once). A short body raises
    MalformedResponse."""
    length = response.headers.get("Content-Length")
    encoding = response.headers.get("Content-Encoding", "identity").lower()
    if length is None or not length.isdigit() or encoding != "identity":
        return response.content
    size = int(length)
    buffer = allocate(size) if allocate is not None else bytearray(size)
    view = memoryview(buffer).cast("B")
    position = 0
    while position < size:
        got = response.raw.readinto(view[position:position + chunk])
        if not got:
            break
        position += got
    if position != size:
        raise MalformedResponse(f"{urlsplit(response.url).path} sent {position} of {size} bytes")
    return buffer


def _check_limit(limit: int, maximum: int) -> int:
    if not 1 <= limit <= maximum:
        raise ValueError(f"limit {limit} is outside Eloqua's range 1..{maximum}")
    return limit


def _connection_reason(exc: BaseException) -> str:
    text = str(exc)
    for needle, reason in (("Connection refused", "connection refused"),
                           ("Name or service not known", "unknown host"),
                           ("nodename nor servname", "unknown host"),
                           ("RemoteDisconnected", "connection dropped by the server"),
                           ("Connection aborted", "connection dropped by the server"),
                           ("Connection reset", "connection reset"),
                           ("SSLError", "TLS error"),
                           ("timed out", "timed out")):
        if needle in text:
            return reason
    return f"connection error ({type(exc).__name__})"
