"""One registry repository over HTTP: the distribution-spec requests bee makes, over `requests`.

`RegistryClient` speaks the few endpoints push, pull and login use: `GET /v2/`, manifests
(GET and PUT, as exact bytes: a digest is computed over them), blob HEAD and GET, and blob
uploads (POST then PUT, or POST, PATCH per chunk, then PUT). Every request goes through
`RegistryClient.request`: that is where redirects, the challenge flow (`registry_auth`), retries,
the operation's deadline (`deadline`) and one-sentence errors (`netfaults`) meet.

Importing this module imports `requests`; only push, pull and login do.
Errors: `RegistryError` and its subclasses from `bee.oci.errors`.
"""

from __future__ import annotations

import hashlib
import re
import socket
import time
from collections.abc import Callable
from dataclasses import dataclass
from http.cookiejar import DefaultCookiePolicy
from pathlib import Path
from urllib.parse import urlencode, urljoin, urlsplit

import requests
import urllib3.exceptions

from bee.errors import InvalidReferenceError
from bee.oci.auth import DOCKER_HUB_HOSTS, CredentialLookup
from bee.oci.bodies import UploadBody, read_limited
from bee.oci.deadline import MIN_RATE, Deadline, DeadlineAdapter
from bee.oci.errors import IntegrityError, RegistryError, RegistryNotFoundError
from bee.oci.fileutil import FileTooLarge, read_bounded
from bee.oci.manifest import MAX_MANIFEST_SIZE
from bee.oci.netfaults import NOT_TLS, cannot_connect, connection_reason, oci_errors, ssl_reason, timed_out
from bee.oci.progress import Task
from bee.oci.registry_auth import LOGIN_SOURCE, Authorization

__all__ = ["DEFAULT_TIMEOUT", "LOGIN_SOURCE", "MAX_BLOB_SIZE", "MAX_MANIFEST_SIZE", "MIN_RATE", "Endpoint",
           "RegistryClient"]

ATTEMPTS = 4  # tries of one request on 5xx, 429 and resets (never on silence: see `timeout`)
BACKOFF = 0.25  # seconds before the second try; doubled for each next one
MAX_RETRY_AFTER = 5.0
CONNECT_TIMEOUT = 10.0  # seconds to connect (at most the client's timeout)
DEFAULT_TIMEOUT = 60.0  # seconds an operation may take (plus blob time) (bee.options.DEFAULT_REGISTRY_TIMEOUT)
MAX_BLOB_SIZE = 512 << 20
MAX_SMALL_BODY = 1 << 20  # errors, tokens, upload answers
MAX_REDIRECTS = 10  # hops a GET or HEAD follows (a registry redirects blobs to storage once)
REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})
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


class _Session(requests.Session):
    """A session that never follows redirects itself: even with `allow_redirects=False`, requests reads a
    redirect's whole body (to prepare the next hop), unbounded; `RegistryClient.request` follows them."""

    def get_redirect_target(self, resp: requests.Response) -> None:
        return None


def _seconds(value: float) -> str:
    """Seconds for a message: whole from 10 up, two significant digits below (60, not 59.98; 0.031)."""
    return f"{value:.0f}" if value >= 10 else f"{value:.2g}"


class _Truncated(RegistryError):
    """The registry closed the connection before the whole body was sent (retried for blobs)."""


class RegistryClient:
    """Requests to one repository (or, with `repository=""`, to the registry's base endpoint), for one
    operation: the client's `timeout` is that operation's deadline.

    `scope_actions` is what the token is asked for (`pull`, `pull,push`; None: none, as for a
    login check); `subject` names the reference in messages; `credentials` is called at most
    once, at the first challenge, so anonymous registries never run credential helpers. The
    tokens obtained are kept for the client's life.

    Time: the operation may take `timeout` seconds in all, plus, for each blob sent or received,
    its size at `deadline.MIN_RATE`; the registry may also stay silent for at most `timeout` seconds
    at a time. Neither silence nor the deadline is retried. The owner calls `close()` (or uses
    `with`), which stops the deadline's watchdog and closes the connections.
    """

    def __init__(self, endpoint: Endpoint, *, subject: str, scope_actions: str | None,
                 credentials: Callable[[], CredentialLookup], timeout: float = DEFAULT_TIMEOUT) -> None:
        self.endpoint = endpoint
        self.timeout = timeout
        self.subject = subject
        self.action = "push" if scope_actions and "push" in scope_actions else "pull"
        self.deadline = Deadline(timeout)
        self.session = _Session()
        adapter = DeadlineAdapter(self.deadline)
        self.session.mount("http://", adapter)
        self.session.mount("https://", adapter)
        # No cookies: some registries (Harbor) take one as a sign of a browser and start CSRF checks.
        self.session.cookies.set_policy(DefaultCookiePolicy(allowed_domains=[]))
        if endpoint.insecure:  # asked for: urllib3 would otherwise warn on every request
            urllib3.disable_warnings(urllib3.exceptions.InsecureRequestWarning)
        self._auth = Authorization(self, f"repository:{endpoint.repository}:{scope_actions}" if scope_actions
                                   else None, credentials)

    def close(self) -> None:
        """End the operation: stop the deadline's watchdog and close the connections."""
        self.deadline.close()
        self.session.close()

    def __enter__(self) -> RegistryClient:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- the request path -------------------------------------------------------------------------

    def request(self, method: str, url: str, *, data: bytes | None = None, headers: dict[str, str] | None = None,
                stream: bool = False, authenticate: bool = True, task: Task | None = None) -> requests.Response:
        """Send one request: follow redirects (GET and HEAD), answer auth challenges, retry 5xx/429/resets.

        A redirect's body is never read; a hop to another host is sent without credentials (as
        storage behind a registry expects). A `data` body sent with a `task` reports its progress
        there (reset on a retry). Returns the final response (any status), its body read (bounded)
        unless `stream`; raises `RegistryError` when the registry cannot be reached, is too slow or
        redirects in a loop, `RegistryAuthError` when a challenge cannot be answered.
        """
        first = url
        for _ in range(MAX_REDIRECTS + 1):
            response = self._send(method, url, data, headers, authenticate, task)
            location = response.headers.get("Location")
            if method not in ("GET", "HEAD") or response.status_code not in REDIRECT_STATUSES or not location:
                if not stream:
                    self._read_small(response)
                return response
            response.close()  # unread: a redirect's body may be anything, of any size
            target = urljoin(url, location)
            if urlsplit(target).netloc != urlsplit(url).netloc:
                authenticate = False
                headers = {k: v for k, v in (headers or {}).items() if k.lower() != "authorization"}
            url = target
        raise RegistryError(f"{first.split('?', 1)[0]} redirects in a loop (more than {MAX_REDIRECTS} redirects): "
                            "check the registry's address and the proxy or load balancer in front of it")

    def _send(self, method: str, url: str, data: bytes | None, headers: dict[str, str] | None,
              authenticate: bool, task: Task | None) -> requests.Response:
        """One request (no redirects followed), with the challenge flow and retries; `request` explains."""
        attempt = 0
        challenges = 0
        while True:
            attempt += 1
            left = self.deadline.remaining()
            if left <= 0:
                raise RegistryError(self.overdue_message(method, url))
            sent = dict(headers or {})
            if authenticate and (value := self._auth.header()):
                sent["Authorization"] = value
            body: bytes | UploadBody | None = data
            if data and task is not None:
                if attempt > 1:
                    task.reset()
                body = UploadBody(data, task)
            retryable = method != "PATCH"  # a repeated chunk would be appended twice
            try:
                response = self.session.request(method, url, data=body, headers=sent, stream=True,
                                                verify=not self.endpoint.insecure,
                                                timeout=(min(CONNECT_TIMEOUT, self.timeout), self.timeout),
                                                allow_redirects=False)
            except requests.exceptions.SSLError as exc:
                if self._overdue():
                    raise RegistryError(self.overdue_message(method, url)) from None
                raise RegistryError(self._tls_message(exc)) from None
            except requests.ReadTimeout:  # nothing at all for `timeout` s (before the deadline's watchdog acts)
                raise RegistryError(self.silent_message(url)) from None
            except requests.exceptions.InvalidURL as exc:
                raise RegistryError(f"cannot talk to the registry at {self._where(url)}: the URL is invalid "
                                    f"({str(exc).splitlines()[0][:160]})") from None
            except (requests.ConnectionError, requests.Timeout) as exc:
                if self._overdue():
                    raise RegistryError(self.overdue_message(method, url)) from None
                if timed_out(exc) and not cannot_connect(exc):  # silent while bee sent: not retried either
                    raise RegistryError(
                        f"{urlsplit(url).netloc} went silent for {self.timeout:g} s during {method} "
                        f"{url.split('?', 1)[0]}: check that it is up, or wait longer with --timeout "
                        "(or BEE_TIMEOUT)") from None
                if not retryable or attempt >= ATTEMPTS or cannot_connect(exc):
                    raise RegistryError(self._connection_message(url, exc)) from None
                self._sleep(attempt, None)
                continue
            except requests.RequestException as exc:  # an answer that is not HTTP as requests knows it
                if self._overdue():
                    raise RegistryError(self.overdue_message(method, url)) from None
                raise RegistryError(f"the registry at {self._where(url)} answered something that is not valid "
                                    f"HTTP ({type(exc).__name__}: {str(exc).splitlines()[0][:160]})") from None
            if self.deadline.fired:  # the watchdog's shutdown may end a header block early, as if complete
                response.close()
                raise RegistryError(self.overdue_message(method, url))
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
            return response

    def _overdue(self) -> bool:
        """True when the operation's deadline has passed (a read that failed then failed because of it)."""
        return self.deadline.fired or self.deadline.remaining() <= 0

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
        time.sleep(min(delay, self.deadline.remaining()))

    def _tls_message(self, exc: Exception) -> str:
        text = str(exc)
        host = self.endpoint.api_host
        if "CERTIFICATE_VERIFY_FAILED" in text:
            match = re.search(r"certificate verify failed: ([^()]+?)\s*(?:\(_ssl|\)|$)", text)
            reason = match.group(1).strip() if match else ""
            return (f"the TLS certificate of {host} cannot be verified ({reason or 'unknown issuer'}): "
                    "use --insecure to skip verification, or set REQUESTS_CA_BUNDLE to its CA certificate")
        reason = ssl_reason(text)
        if reason == NOT_TLS and self._speaks_plain_http():
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
        return f"cannot reach the registry at {self._where(url)}: {connection_reason(exc, ATTEMPTS)}"

    def silent_message(self, url: str) -> str:
        """The error for a registry that accepted the connection and sent nothing for `timeout` seconds."""
        host = urlsplit(url).netloc or self.endpoint.api_host
        return (f"{host} accepted the connection but did not answer within {self.timeout:g} s: check that "
                "it is a registry and that it is up, or wait longer with --timeout (or BEE_TIMEOUT)")

    def overdue_message(self, method: str, url: str, received: str = "") -> str:
        """The error for an operation past its deadline while `method url` was under way."""
        host = urlsplit(url).netloc or self.endpoint.api_host
        allowance = (f" (--timeout {self.timeout:g} s, plus {_seconds(self.deadline.limit - self.timeout)} s for the "
                     f"blob sizes at {MIN_RATE >> 10} KiB/s)") if self.deadline.limit > self.timeout else ""
        return (f"{host} did not finish answering {method} {url.split('?', 1)[0]}{received} within "
                f"{_seconds(self.deadline.limit)} s{allowance}: it answers too slowly or stopped answering; check that "
                "it is up, or allow longer with --timeout (or BEE_TIMEOUT)")

    def _read(self, response: requests.Response, limit: int, what: str, task: Task | None, bound: str,
              expected: int | None) -> bytes:
        """`read_limited`, with a stalled, cut or overdue body reported as such (`_Truncated` when cut)."""
        host = urlsplit(response.url).netloc or self.endpoint.api_host
        declared = response.headers.get("Content-Length", "")
        total = expected if expected is not None else int(declared) if declared.isdigit() else None
        received: list[int] = [0]
        of = f" of {total}" if total is not None else ""
        try:
            data = read_limited(response, limit, what, task, bound, received)
            if self.deadline.fired:  # the body may have ended at the watchdog's shutdown, as if complete
                raise RegistryError(self.overdue_message(response.request.method or "GET", response.url,
                                                         f" (after {received[0]}{of} bytes of {what})"))
            return data
        except (requests.ConnectionError, requests.exceptions.ChunkedEncodingError,
                urllib3.exceptions.HTTPError) as exc:
            if timed_out(exc) and not self.deadline.fired:
                raise RegistryError(f"the download of {what} from {host} stalled: no data for {self.timeout:g} s "
                                    f"after {received[0]}{of} bytes; try again, or wait longer with --timeout "
                                    "(or BEE_TIMEOUT)") from None
            if self._overdue():
                raise RegistryError(self.overdue_message(response.request.method or "GET", response.url,
                                                         f" (after {received[0]}{of} bytes of {what})")) from None
            if isinstance(exc, requests.exceptions.ChunkedEncodingError):
                raise _Truncated(f"{host} closed the connection after {received[0]}{of} bytes of {what}: "
                                 "try again; if it keeps happening, the registry or a proxy in front of it "
                                 "is cutting responses short") from None
            raise _Truncated(f"the connection to {host} broke after {received[0]}{of} bytes of {what} "
                             f"({connection_reason(exc, ATTEMPTS)}): try again") from None

    # -- errors -----------------------------------------------------------------------------------

    def failure(self, response: requests.Response, doing: str) -> RegistryError:
        """The error for an unexpected answer to `doing` (e.g. "cannot pull x:v1")."""
        status = response.status_code
        if not response._content_consumed:  # a streamed answer: its error body is read bounded too
            self._read_small(response)
        detail = oci_errors(response)
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
        try:
            data = read_bounded(path, MAX_BLOB_SIZE)
        except FileTooLarge as exc:
            raise IntegrityError(f"blob {digest} of {self.subject} is {exc.size} bytes, more than bee's limit of "
                                 f"{MAX_BLOB_SIZE >> 20} MiB") from None
        except OSError as exc:
            raise IntegrityError(f"cannot read blob {digest} of {self.subject} ({path}): "
                                 f"{exc.strerror or exc}") from None
        self.deadline.allow(len(data))
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
        self.deadline.allow(size)
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
