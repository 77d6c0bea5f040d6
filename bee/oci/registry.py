"""One registry repository over HTTP: the distribution-spec requests bee makes, over `requests`.

`RegistryClient` speaks the few endpoints push, pull and login use: `GET /v2/`, manifests
(GET and PUT, as exact bytes: a digest is computed over them), blob HEAD and GET, and blob
uploads (POST then PUT, or POST, PATCH per chunk, then PUT). Every request goes through
`RegistryClient.request`: that is where the challenge flow, the token cache, retries and
one-sentence errors live.

Importing this module imports `requests`; only push, pull and login do.
Errors: `RegistryError` and its subclasses from `bee.oci.errors`.
"""

from __future__ import annotations

import hashlib
import re
import socket
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from http.cookiejar import DefaultCookiePolicy
from pathlib import Path
from typing import Any
from urllib.parse import urlencode, urljoin, urlsplit

import requests
import urllib3.exceptions

from bee.errors import InvalidReferenceError
from bee.oci.auth import DOCKER_HUB_HOSTS, CredentialLookup, Credentials, merge_scopes, parse_www_authenticate
from bee.oci.errors import IntegrityError, RegistryAuthError, RegistryError, RegistryNotFoundError
from bee.oci.progress import Task

ATTEMPTS = 4  # tries of one request on 5xx, 429 and resets (never on silence: see `timeout`)
BACKOFF = 0.25  # seconds before the second try; doubled for each next one
MAX_RETRY_AFTER = 5.0
CONNECT_TIMEOUT = 10.0  # seconds to connect (at most the client's timeout)
DEFAULT_TIMEOUT = 60.0  # seconds a registry may stay silent (bee.options.DEFAULT_REGISTRY_TIMEOUT, --timeout)
LOGIN_SOURCE = "the login command"  # `Credentials.source` of what `bee login` checks
MAX_MANIFEST_SIZE = 4 << 20
MAX_BLOB_SIZE = 512 << 20
MAX_SMALL_BODY = 1 << 20  # errors, tokens, upload answers
READ_CHUNK = 1 << 16
RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})
_OK = range(200, 300)


@dataclass(frozen=True)
class Endpoint:
    """Where a repository lives: `host` as the user wrote it, `api_host` where its API answers."""

    host: str
    api_host: str
    repository: str
    plain_http: bool = False
    insecure: bool = False

    @property
    def base_url(self) -> str:
        return f"{'http' if self.plain_http else 'https'}://{self.api_host}/v2/"

    @classmethod
    def of(cls, host: str, repository: str, *, plain_http: bool, insecure: bool) -> Endpoint:
        """The endpoint of `host/repository`; Docker Hub's API host and `library/` are filled in.

        Raises `InvalidReferenceError` for a port outside 1-65535 (the reference grammar allows any number).
        """
        host = host.lower()
        _, colon, port = host.rpartition(":")
        if colon and port.isdigit() and not 1 <= int(port) <= 65535:
            raise InvalidReferenceError(f"the registry {host} has port {port}, which is not between 1 and 65535: "
                                        "check the reference")
        api_host = host
        if host in DOCKER_HUB_HOSTS:
            api_host = "registry-1.docker.io"
            if repository and "/" not in repository:
                repository = f"library/{repository}"
        return cls(host, api_host, repository, plain_http, insecure)


class _Body:
    """Bytes sent as a request body in blocks, reporting each block to a progress task."""

    def __init__(self, data: bytes, task: Task) -> None:
        self._view = memoryview(data)
        self._pos = 0
        self._task = task

    def __len__(self) -> int:
        return len(self._view)

    def __iter__(self) -> Iterator[bytes]:
        while block := self.read(READ_CHUNK):
            yield block

    def read(self, size: int = -1) -> bytes:
        end = len(self._view) if size is None or size < 0 else min(len(self._view), self._pos + size)
        block = bytes(self._view[self._pos:end])
        self._pos = end
        self._task.advance(len(block))
        return block


class _Truncated(RegistryError):
    """The registry closed the connection before the whole body was sent (retried for blobs)."""


class RegistryClient:
    """Requests to one repository (or, with `repository=""`, to the registry's base endpoint).

    `scope_actions` is what the token is asked for (`pull`, `pull,push`; None: none, as for a
    login check); `subject` names the reference in messages; `credentials` is called at most
    once, at the first challenge, so anonymous registries never run credential helpers. The
    tokens obtained are kept for the client's life. `timeout` is how many seconds the registry may
    stay silent: waiting for an answer, or for the next bytes of a body; a silent registry is not
    asked again, so no request waits longer than that for nothing.
    """

    def __init__(self, endpoint: Endpoint, *, subject: str, scope_actions: str | None,
                 credentials: Callable[[], CredentialLookup], timeout: float = DEFAULT_TIMEOUT) -> None:
        self.endpoint = endpoint
        self.timeout = timeout
        self.subject = subject
        self.action = "push" if scope_actions and "push" in scope_actions else "pull"
        self.session = requests.Session()
        # No cookies: some registries (Harbor) take one as a sign of a browser and start CSRF checks.
        self.session.cookies.set_policy(DefaultCookiePolicy(allowed_domains=[]))
        if endpoint.insecure:  # asked for: urllib3 would otherwise warn on every request
            urllib3.disable_warnings(urllib3.exceptions.InsecureRequestWarning)
        self._auth = _Auth(self, f"repository:{endpoint.repository}:{scope_actions}" if scope_actions else None,
                           credentials)

    # -- the request path -------------------------------------------------------------------------

    def request(self, method: str, url: str, *, data: bytes | None = None, headers: dict[str, str] | None = None,
                stream: bool = False, authenticate: bool = True, task: Task | None = None) -> requests.Response:
        """Send one request: answer auth challenges, retry 5xx/429/resets with backoff.

        A `data` body sent with a `task` reports its progress there (reset on a retry). Returns
        the final response (any status); raises `RegistryError` when the registry cannot be
        reached, `RegistryAuthError` when a challenge cannot be answered.
        """
        attempt = 0
        challenges = 0
        while True:
            attempt += 1
            sent = dict(headers or {})
            if authenticate and (value := self._auth.header()):
                sent["Authorization"] = value
            body: bytes | _Body | None = data
            if data and task is not None:
                if attempt > 1:
                    task.reset()
                body = _Body(data, task)
            retryable = method != "PATCH"  # a repeated chunk would be appended twice
            try:
                response = self.session.request(method, url, data=body, headers=sent, stream=True,
                                                verify=not self.endpoint.insecure,
                                                timeout=(min(CONNECT_TIMEOUT, self.timeout), self.timeout),
                                                allow_redirects=method in ("GET", "HEAD"))
            except requests.exceptions.SSLError as exc:
                raise RegistryError(self._tls_message(exc)) from None
            except requests.TooManyRedirects:
                raise RegistryError(
                    f"{url.split('?', 1)[0]} redirects in a loop (more than {self.session.max_redirects} redirects): "
                    "check the registry's address and the proxy or load balancer in front of it") from None
            except requests.ReadTimeout:
                raise RegistryError(self.silent_message(url)) from None
            except requests.exceptions.InvalidURL as exc:
                raise RegistryError(f"cannot talk to the registry at {self._where(url)}: the URL is invalid "
                                    f"({str(exc).splitlines()[0][:160]})") from None
            except (requests.ConnectionError, requests.Timeout) as exc:
                if _timed_out(exc) and not _cannot_connect(exc):  # silent while bee sent: not retried either
                    raise RegistryError(
                        f"{urlsplit(url).netloc} went silent for {self.timeout:g} s during {method} "
                        f"{url.split('?', 1)[0]}: check that it is up, or wait longer with --timeout "
                        "(or BEE_TIMEOUT)") from None
                if not retryable or attempt >= ATTEMPTS or _cannot_connect(exc):
                    raise RegistryError(self._connection_message(url, exc)) from None
                self._sleep(attempt, None)
                continue
            except requests.RequestException as exc:  # an answer that is not HTTP as requests knows it
                raise RegistryError(f"the registry at {self._where(url)} answered something that is not valid "
                                    f"HTTP ({type(exc).__name__}: {str(exc).splitlines()[0][:160]})") from None
            if response.status_code == 401 and authenticate and challenges < 2:
                challenges += 1
                attempt -= 1
                response.close()
                self._auth.challenged(response)
                continue
            if response.status_code in RETRY_STATUSES and retryable and attempt < ATTEMPTS:
                response.close()
                self._sleep(attempt, response)
                continue
            if not stream:
                self._read_small(response)
            return response

    def _read_small(self, response: requests.Response) -> None:
        """Read the body of an answer that is not a manifest or blob (an error, a token, an upload's
        answer), refusing more than `MAX_SMALL_BODY` bytes, as `response.content` does unbounded."""
        with response:
            if response.request.method == "HEAD" or response.status_code in (204, 304):
                body = b""
            else:
                try:
                    body = self._read(response, MAX_SMALL_BODY, f"the answer of {response.url.split('?', 1)[0]}",
                                      None, f"bee's limit of {MAX_SMALL_BODY >> 10} KiB for such an answer", None)
                except _Truncated as exc:
                    raise RegistryError(exc.message) from None
        response._content = body  # what `response.content` reads, as requests itself fills it
        response._content_consumed = True

    def _sleep(self, attempt: int, response: requests.Response | None) -> None:
        delay = BACKOFF * 2 ** (attempt - 1)
        retry_after = response.headers.get("Retry-After", "") if response is not None else ""
        if retry_after.isdigit():
            delay = min(float(retry_after), MAX_RETRY_AFTER)
        time.sleep(delay)

    def _tls_message(self, exc: Exception) -> str:
        text = str(exc)
        host = self.endpoint.api_host
        if "CERTIFICATE_VERIFY_FAILED" in text:
            match = re.search(r"certificate verify failed: ([^()]+?)\s*(?:\(_ssl|\)|$)", text)
            reason = match.group(1).strip() if match else ""
            return (f"the TLS certificate of {host} cannot be verified ({reason or 'unknown issuer'}): "
                    "use --insecure to skip verification, or set REQUESTS_CA_BUNDLE to its CA certificate")
        reason = _ssl_reason(text)
        if reason == _NOT_TLS and self._speaks_plain_http():
            return f"{host} speaks plain HTTP, not HTTPS: use --plain-http"
        return (f"TLS with {self.endpoint.base_url} failed ({reason}): "
                "if the registry serves plain HTTP, use --plain-http")

    def _speaks_plain_http(self) -> bool:
        """True when the registry answers a plain-HTTP request with an HTTP status line (one short probe)."""
        host, _, port = self.endpoint.api_host.rpartition(":")
        if not host or not port.isdigit():
            host, port = self.endpoint.api_host, "443"
        try:
            with socket.create_connection((host.strip("[]"), int(port)), timeout=min(5.0, self.timeout)) as conn:
                conn.sendall(f"GET /v2/ HTTP/1.0\r\nHost: {self.endpoint.api_host}\r\n\r\n".encode())
                return conn.recv(5) == b"HTTP/"
        except (OSError, ValueError):
            return False

    def _where(self, url: str) -> str:
        base = self.endpoint.base_url
        return base if url.startswith(base) else url.split("?", 1)[0]

    def _connection_message(self, url: str, exc: Exception) -> str:
        return f"cannot reach the registry at {self._where(url)}: {_connection_reason(exc)}"

    def silent_message(self, url: str) -> str:
        """The error for a registry that accepted the connection and sent nothing for `timeout` seconds."""
        host = urlsplit(url).netloc or self.endpoint.api_host
        return (f"{host} accepted the connection but did not answer within {self.timeout:g} s: check that "
                "it is a registry and that it is up, or wait longer with --timeout (or BEE_TIMEOUT)")

    def _read(self, response: requests.Response, limit: int, what: str, task: Task | None, bound: str,
              expected: int | None) -> bytes:
        """`_read_limited`, with a stalled or cut body reported as such (`_Truncated` when cut)."""
        host = urlsplit(response.url).netloc or self.endpoint.api_host
        declared = response.headers.get("Content-Length", "")
        total = expected if expected is not None else int(declared) if declared.isdigit() else None
        received: list[int] = [0]
        try:
            return _read_limited(response, limit, what, task, bound, received)
        except requests.exceptions.ChunkedEncodingError:
            of = f" of {total}" if total is not None else ""
            raise _Truncated(f"{host} closed the connection after {received[0]}{of} bytes of {what}: "
                             "try again; if it keeps happening, the registry or a proxy in front of it "
                             "is cutting responses short") from None
        except (requests.ConnectionError, urllib3.exceptions.HTTPError) as exc:
            of = f" of {total}" if total is not None else ""
            if _timed_out(exc):
                raise RegistryError(f"the download of {what} from {host} stalled: no data for {self.timeout:g} s "
                                    f"after {received[0]}{of} bytes; try again, or wait longer with --timeout "
                                    "(or BEE_TIMEOUT)") from None
            raise _Truncated(f"the connection to {host} broke after {received[0]}{of} bytes of {what} "
                             f"({_connection_reason(exc)}): try again") from None

    # -- errors -----------------------------------------------------------------------------------

    def failure(self, response: requests.Response, doing: str) -> RegistryError:
        """The error for an unexpected answer to `doing` (e.g. "cannot pull x:v1")."""
        status = response.status_code
        if not response._content_consumed:  # a streamed answer: its error body is read bounded too
            self._read_small(response)
        detail = _oci_errors(response)
        host = self.endpoint.host
        if status == 401:
            return self._auth.refused()
        if status == 403:
            return self._auth.forbidden()
        if status == 404:
            return RegistryNotFoundError(f"{doing}: {host} answered 404 Not Found{detail}")
        if status == 400 and self.endpoint.plain_http and "HTTPS" in detail + response.text[:200]:
            return RegistryError(f"{host} serves HTTPS, not plain HTTP: drop --plain-http")
        tries = f" after {ATTEMPTS} attempts" if status in RETRY_STATUSES else ""
        return RegistryError(f"{doing}: {host} answered {status} {response.reason}{tries}{detail}")

    # -- operations ---------------------------------------------------------------------------------

    def _url(self, kind: str, name: str = "") -> str:
        """The URL of `/v2/<repository>/<kind>/<name>` (kind: manifests, blobs, blobs/uploads)."""
        return f"{self.endpoint.base_url}{self.endpoint.repository}/{kind}/{name}"

    def ping(self) -> None:
        """GET the base endpoint `/v2/`, answering challenges: a login check. Raises `RegistryError`."""
        response = self.request("GET", self.endpoint.base_url)
        response.close()
        if response.status_code not in _OK:
            raise self.failure(response, f"cannot log in to {self.endpoint.host}")

    def get_manifest(self, reference: str, accept: str) -> tuple[bytes, str | None, str | None]:
        """The manifest for a tag or digest: its bytes, `Content-Type`, `Docker-Content-Digest`.

        Raises `RegistryNotFoundError`, `IntegrityError` (over `MAX_MANIFEST_SIZE`), `RegistryError`.
        """
        url = self._url("manifests", reference)
        response = self.request("GET", url, headers={"Accept": accept}, stream=True)
        with response:
            if response.status_code == 404:
                raise RegistryNotFoundError(
                    f"{self.subject} was not found on {self.endpoint.host} (no such repository, tag or digest)")
            if response.status_code not in _OK:
                raise self.failure(response, f"cannot pull {self.subject}")
            try:
                data = self._read(response, MAX_MANIFEST_SIZE, f"the manifest of {self.subject}", None,
                                  f"bee's limit of {MAX_MANIFEST_SIZE >> 20} MiB", None)
            except _Truncated as exc:
                raise RegistryError(exc.message) from None
            return data, response.headers.get("Content-Type"), response.headers.get("Docker-Content-Digest")

    def put_manifest(self, reference: str, data: bytes, media_type: str) -> str | None:
        """PUT `data` as the manifest `reference` (a tag or digest); returns the digest the registry reports.

        `data` is sent as it is: the manifest's digest is computed over these bytes.
        """
        url = self._url("manifests", reference)
        response = self.request("PUT", url, data=data, headers={"Content-Type": media_type})
        response.close()
        if response.status_code not in _OK:
            raise self.failure(response, f"cannot push the manifest of {self.subject}")
        return response.headers.get("Docker-Content-Digest")

    def blob_exists(self, digest: str) -> bool:
        """True when the repository has the blob (HEAD answered 2xx); any other answer means "upload it"."""
        response = self.request("HEAD", self._url("blobs", digest))
        response.close()
        return response.status_code in _OK

    def upload_blob(self, path: Path, digest: str, task: Task, *, chunk_size: int | None) -> None:
        """Upload the file `path` as blob `digest`: POST a session, then PUT it whole, or PATCH it in
        `chunk_size` pieces and PUT to close (PATCHes are never retried: a chunk would be appended twice).

        Raises `RegistryError` unless the registry answers 201 with the same digest.
        """
        data = path.read_bytes()
        doing = f"cannot upload blob {digest} of {self.subject}"
        location = self._session_step("POST", self._url("blobs/uploads"), doing,
                                      headers={"Content-Type": "application/octet-stream", "Content-Length": "0"})
        final: bytes | None = data
        if chunk_size:
            for start in range(0, len(data), chunk_size):
                chunk = data[start:start + chunk_size]
                headers = {"Content-Type": "application/octet-stream", "Content-Length": str(len(chunk)),
                           "Content-Range": f"{start}-{start + len(chunk) - 1}"}
                location = self._session_step("PATCH", location, doing, data=chunk, headers=headers, task=task)
            final = None
        separator = "&" if "?" in location else "?"
        headers = {"Content-Type": "application/octet-stream", "Content-Length": str(len(final or b""))}
        response = self.request("PUT", f"{location}{separator}{urlencode({'digest': digest})}", data=final,
                                headers=headers, task=task)
        response.close()
        if response.status_code not in _OK:
            raise self.failure(response, doing)
        reported = response.headers.get("Docker-Content-Digest")
        if reported and reported != digest:
            raise IntegrityError(f"{self.endpoint.host} stored blob {digest} of {self.subject} as {reported}")

    def _session_step(self, method: str, url: str, doing: str, *, headers: dict[str, str],
                      data: bytes | None = None, task: Task | None = None) -> str:
        """One request of an upload session; the absolute URL its `Location` names for the next one."""
        response = self.request(method, url, data=data, headers=headers, task=task)
        response.close()
        if response.status_code not in _OK:
            raise self.failure(response, doing)
        location = response.headers.get("Location")
        if not location:
            raise RegistryError(f"{self.endpoint.host} answered a blob upload without saying where to "
                                "continue (no Location)")
        return urljoin(url, location)

    def fetch_blob(self, digest: str, size: int, task: Task) -> bytes:
        """The blob `digest`, checked against `size` and its sha256 while it is read.

        A connection that breaks mid-body is retried from the start (up to `ATTEMPTS` times).
        Raises `RegistryNotFoundError`, `IntegrityError`, `RegistryError`.
        """
        if size > MAX_BLOB_SIZE:
            raise IntegrityError(f"blob {digest} of {self.subject} is {size} bytes, more than bee's limit of "
                                 f"{MAX_BLOB_SIZE >> 20} MiB")
        for attempt in range(1, ATTEMPTS + 1):
            response = self.request("GET", self._url("blobs", digest), stream=True)
            with response:
                if response.status_code == 404:
                    raise RegistryNotFoundError(f"blob {digest} of {self.subject} is missing from {self.endpoint.host}")
                if response.status_code not in _OK:
                    raise self.failure(response, f"cannot download blob {digest} of {self.subject}")
                task.reset()
                try:
                    data = self._read(response, size, f"blob {digest} of {self.subject}", task,
                                      f"the {size} bytes its descriptor says", size)
                except _Truncated as exc:
                    if attempt == ATTEMPTS:
                        raise RegistryError(f"{exc.message} ({ATTEMPTS} attempts)") from None
                    self._sleep(attempt, None)
                    continue
            if len(data) != size:
                raise IntegrityError(
                    f"blob {digest} of {self.subject} is {len(data)} bytes, its descriptor says {size}")
            actual = "sha256:" + hashlib.sha256(data).hexdigest()
            if actual != digest:
                raise IntegrityError(f"blob {digest} of {self.subject} does not match its digest "
                                     f"(the registry sent content with digest {actual})")
            return data
        raise AssertionError("unreachable")


class _Auth:
    """The Authorization of one client: Basic, or Bearer tokens from the challenge's realm.

    A token is asked for every scope the client has needed so far (`merge_scopes`), so a pull
    token is never resent for a push; rejected credentials are reported as such.
    """

    def __init__(self, client: RegistryClient, scope: str | None, credentials: Callable[[], CredentialLookup]) -> None:
        self._client = client
        self._scope = scope
        self._credentials = credentials
        self._lookup: CredentialLookup | None = None
        self._header: str | None = None
        self._scheme: str | None = None
        self._token_scopes: list[str] = []

    @property
    def lookup(self) -> CredentialLookup:
        if self._lookup is None:
            self._lookup = self._credentials()
        return self._lookup

    def header(self) -> str | None:
        return self._header

    def challenged(self, response: requests.Response) -> None:
        """Answer a 401: get a token for the scopes asked, or use Basic credentials.

        Raises `RegistryAuthError` when there is nothing better to send than what was refused.
        """
        raw = response.headers.get("WWW-Authenticate", "")
        host = self._client.endpoint.host
        try:
            challenges = parse_www_authenticate(raw)
        except ValueError as exc:
            raise RegistryAuthError(f"{host} sent a WWW-Authenticate header bee cannot read ({exc})") from None
        bearer = next((c for c in challenges if c.scheme == "bearer" and c.params.get("realm")), None)
        if bearer is not None:
            scopes = merge_scopes([*self._token_scopes, *([self._scope] if self._scope else []),
                                   *bearer.params.get("scope", "").split()])
            if self._scheme == "bearer" and scopes == self._token_scopes:
                raise self.refused()
            token = self._fetch_token(bearer.params["realm"], bearer.params.get("service"), scopes)
            self._scheme, self._header, self._token_scopes = "bearer", f"Bearer {token}", scopes
            return
        if challenges and not any(c.scheme == "basic" for c in challenges):
            schemes = ", ".join(sorted({c.scheme.capitalize() for c in challenges}))
            raise RegistryAuthError(f"{host} asks for {schemes} authentication; bee supports Basic and Bearer")
        credentials = self.lookup.credentials
        if credentials is None or self._scheme == "basic":
            raise self.refused()
        self._scheme, self._header = "basic", f"Basic {credentials.basic()}"

    def _fetch_token(self, realm: str, service: str | None, scopes: list[str]) -> str:
        host = self._client.endpoint.host
        if not realm.startswith(("https://", "http://")):
            raise RegistryAuthError(f"{host} named a token service that is not an http(s) URL: {realm}")
        params = ([("service", service)] if service else []) + [("scope", scope) for scope in scopes]
        credentials = self.lookup.credentials
        headers = {"Accept": "application/json"}
        if credentials is not None:
            headers["Authorization"] = f"Basic {credentials.basic()}"
        url = requests.Request("GET", realm, params=params).prepare().url or realm
        response = self._client.request("GET", url, headers=headers, authenticate=False)
        with response:
            if response.status_code == 401:
                raise self._rejected(credentials) if credentials else self.refused()
            if response.status_code == 403:
                raise self.forbidden()
            if response.status_code not in _OK:
                raise RegistryAuthError(f"the token service of {host} ({realm}) answered "
                                        f"{response.status_code} {response.reason}{_oci_errors(response)}")
            try:
                payload = response.json()
                token = payload.get("token") or payload.get("access_token")
            except (ValueError, AttributeError, RecursionError, requests.RequestException):
                token = None
        if not isinstance(token, str) or not token:
            raise RegistryAuthError(f"the token service of {host} ({realm}) answered without a token")
        return token

    def _who(self, credentials: Credentials) -> str:
        return f"{credentials.username} (from {credentials.source})"

    def _rejected(self, credentials: Credentials) -> RegistryAuthError:
        host = self._client.endpoint.host
        if credentials.source == LOGIN_SOURCE:
            return RegistryAuthError(f"{host} rejected the credentials of {credentials.username}: "
                                     "check the username and the password or token")
        return RegistryAuthError(f"{host} rejected the credentials of {self._who(credentials)}: "
                                 f"check them, or log in again with `bee login {host}`")

    def _notes(self) -> str:
        notes = self._lookup.notes if self._lookup else ()
        return f" ({'; '.join(notes)})" if notes else ""

    def refused(self) -> RegistryAuthError:
        """The error for a 401 that bee cannot answer better."""
        client, host = self._client, self._client.endpoint.host
        credentials = self.lookup.credentials
        if credentials is not None and (self._scheme == "basic" or not client.endpoint.repository):
            return self._rejected(credentials)
        if credentials is None:
            if not client.endpoint.repository:
                return RegistryAuthError(f"{host} requires credentials: give -u and -p{self._notes()}")
            if client.action == "push":
                return RegistryAuthError(f"{host} requires credentials to push {client.subject}: log in with "
                                         f"`bee login {host}` or give -u/-p{self._notes()}")
            return RegistryAuthError(
                f"{client.subject}: not found, or not authorized without credentials: log in with "
                f"`bee login {host}` or give -u/-p if it is private{self._notes()}")
        if client.action == "push":
            return RegistryAuthError(f"{self._who(credentials)} is not authorized to push {client.subject}")
        return RegistryAuthError(f"{client.subject}: not found, or {self._who(credentials)} "
                                 "is not authorized to pull it")

    def forbidden(self) -> RegistryError:
        """The error for a 403 (GHCR's answer for an image that does not exist, too)."""
        client, host = self._client, self._client.endpoint.host
        credentials = self.lookup.credentials
        who = self._who(credentials) if credentials else "anonymous access"
        if client.action == "push":
            return RegistryAuthError(f"{who} is not authorized to push {client.subject} "
                                     f"({host} answered 403 Forbidden)")
        hint = "" if credentials else f"; log in with `bee login {host}` if it is private"
        return RegistryNotFoundError(f"{client.subject}: not found, or not authorized to pull it "
                                     f"({host} answered 403 Forbidden to {who}){hint}")


def _cannot_connect(exc: Exception) -> bool:
    """True when no connection was made (refused, unresolvable, connect timeout): retrying will not help."""
    seen: set[int] = set()
    stack: list[Any] = [exc]
    while stack:
        item = stack.pop()
        if item is None or id(item) in seen:
            continue
        seen.add(id(item))
        if isinstance(item, (urllib3.exceptions.NewConnectionError, urllib3.exceptions.ConnectTimeoutError,
                             ConnectionRefusedError, requests.exceptions.ConnectTimeout)):
            return True
        stack.extend([getattr(item, "reason", None), item.__cause__, item.__context__,
                      *(a for a in getattr(item, "args", ()) if isinstance(a, BaseException))])
    return False


def _connection_reason(exc: Exception) -> str:
    text = str(exc)
    lowered = text.lower()
    if "refused" in lowered:
        return "connection refused (is it running, on this address and port?)"
    if "name or service not known" in lowered or "nameresolution" in lowered or "failed to resolve" in lowered:
        return "the host name does not resolve"
    if isinstance(exc, requests.Timeout) or "timed out" in lowered:
        return "the connection timed out"
    if "reset" in lowered or "aborted" in lowered or "remotedisconnected" in lowered.replace(" ", ""):
        return f"the connection was closed by the registry {ATTEMPTS} times"
    return text.splitlines()[0][:200] if text else type(exc).__name__


_NOT_TLS = "the server does not answer TLS"


def _ssl_reason(text: str) -> str:
    for marker in ("WRONG_VERSION_NUMBER", "RECORD_LAYER_FAILURE", "record layer failure", "UNKNOWN_PROTOCOL",
                   "packet length too long", "unexpected eof"):
        if marker.lower() in text.lower():
            return _NOT_TLS
    return text.split("(", 1)[-1].rstrip(")")[:160]


def _oci_errors(response: requests.Response) -> str:
    """`: CODE: message` from a distribution-spec error body, or ""."""
    try:
        body = response.json()
        errors = body.get("errors") if isinstance(body, dict) else None
    except (ValueError, RuntimeError):
        return ""
    if not isinstance(errors, list):
        return ""
    parts = [f"{e.get('code', '')}: {e.get('message', '')}".strip(": ") for e in errors if isinstance(e, dict)]
    return f" ({'; '.join(p for p in parts if p)})" if parts else ""


def _timed_out(exc: BaseException) -> bool:
    """True when `exc` (or what it wraps) is a read timeout."""
    seen: set[int] = set()
    stack: list[Any] = [exc]
    while stack:
        item = stack.pop()
        if item is None or id(item) in seen:
            continue
        seen.add(id(item))
        if isinstance(item, (urllib3.exceptions.ReadTimeoutError, requests.ReadTimeout, TimeoutError)):
            return True
        stack.extend([item.__cause__, item.__context__,
                      *(a for a in getattr(item, "args", ()) if isinstance(a, BaseException))])
    return False


def _chunks(response: requests.Response) -> Iterator[bytes]:
    """The body as it arrives (`read1`: whatever is there, so progress and stall messages count every
    byte), with urllib3's errors turned into requests' as `iter_content` does."""
    try:
        while chunk := response.raw.read1(READ_CHUNK, decode_content=True):
            yield chunk
    except urllib3.exceptions.ProtocolError as exc:
        raise requests.exceptions.ChunkedEncodingError(exc) from exc
    except urllib3.exceptions.ReadTimeoutError as exc:
        raise requests.ConnectionError(exc) from exc


def _read_limited(response: requests.Response, limit: int, what: str, task: Task | None, bound: str,
                  received_out: list[int] | None = None) -> bytes:
    """The response body, refusing more than `limit` bytes (announced or actually sent); `bound` says why.

    `received_out[0]`, when given, is kept at the count of bytes received so far (for messages).
    """
    declared = response.headers.get("Content-Length", "")
    if declared.isdigit() and int(declared) > limit:
        raise IntegrityError(f"{what} is {int(declared)} bytes, more than {bound}")
    chunks: list[bytes] = []
    received = 0
    for chunk in _chunks(response):
        received += len(chunk)
        if received_out is not None:
            received_out[0] = received
        if received > limit:
            raise IntegrityError(f"{what} is more than {bound}")
        chunks.append(chunk)
        if task is not None:
            task.advance(len(chunk))
    return b"".join(chunks)
