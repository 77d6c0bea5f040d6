"""A Docker token server on loopback that answers the way GHCR's does.

`GET /token?service=S&scope=repository:NAME:pull,push` (scopes repeatable or space-separated),
optionally with HTTP basic auth. Anonymous callers get `pull` on repositories under `public/` and
nothing else; the known user gets `pull` and `push` everywhere; a wrong password gets 401.
The answer is `{"token", "access_token", "expires_in", "issued_at"}` with an ES256 JWT that the
registry's `auth: token` mode verifies against the certificate in its `rootcertbundle`.
Every request is recorded in `requests`, so tests can assert the flow really happened.
"""

from __future__ import annotations

import base64
import binascii
import datetime
import json
import secrets
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler
from typing import Any
from urllib.parse import parse_qs, urlsplit

from tests.registry.httpd import LoopbackHTTPServer
from tests.registry.keys import KeyPair, sign_jwt

PUBLIC_PREFIX = "public/"
USER_ACTIONS = ("pull", "push")
ANONYMOUS_ACTIONS = ("pull",)


@dataclass
class TokenRequest:
    """One request the token server answered."""

    account: str | None  # the basic-auth user name sent, None when anonymous
    service: str | None
    scopes: list[str]
    status: int
    access: list[dict[str, Any]] = field(default_factory=list)


class TokenServer(LoopbackHTTPServer):
    """The token server: `realm` is its URL; start with `start()`, stop with `close()`."""

    def __init__(self, pair: KeyPair, users: dict[str, str], *, service: str = "bee-test-registry",
                 issuer: str = "bee-test-token-server", key_header: str = "x5c", expires_in: int = 300) -> None:
        self.pair, self.users, self.service, self.issuer = pair, users, service, issuer
        self.key_header, self.expires_in = key_header, expires_in
        self.requests: list[TokenRequest] = []
        self._lock = threading.Lock()
        super().__init__(_handler(self), "token-server")
        self.realm = f"http://127.0.0.1:{self.port}/token"

    def clear(self) -> None:
        """Forget the requests recorded so far."""
        with self._lock:
            self.requests.clear()

    @property
    def count(self) -> int:
        """How many token requests were answered (any status)."""
        with self._lock:
            return len(self.requests)

    def granted(self, account: str | None, scope: str) -> dict[str, Any] | None:
        """The access entry `account` gets for one requested scope, or None for none."""
        parts = scope.split(":")
        if len(parts) < 3:
            return None
        kind, name, wanted = parts[0], ":".join(parts[1:-1]), parts[-1].split(",")
        if kind == "repository":
            allowed = USER_ACTIONS if account else ANONYMOUS_ACTIONS if name.startswith(PUBLIC_PREFIX) else ()
        elif kind == "registry" and account:
            allowed = ("*",)
        else:
            allowed = ()
        actions = [a for a in wanted if a in allowed]
        return {"type": kind, "name": name, "actions": actions} if actions else None

    def issue(self, account: str | None, scopes: list[str]) -> tuple[str, list[dict[str, Any]]]:
        """A signed token for `account` with the access it is allowed out of `scopes`."""
        access = [a for a in (self.granted(account, s) for s in scopes) if a is not None]
        now = int(time.time())
        claims = {"iss": self.issuer, "sub": account or "", "aud": self.service, "exp": now + self.expires_in,
                  "nbf": now - 5, "iat": now, "jti": secrets.token_hex(16), "access": access}
        return sign_jwt(self.pair, claims, key_header=self.key_header), access

    def record(self, request: TokenRequest) -> None:
        with self._lock:
            self.requests.append(request)


def _handler(server: TokenServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - the base class's name
            pass

        def _send(self, status: int, body: dict[str, Any], headers: dict[str, str] | None = None) -> None:
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("Content-Type", "application/json")
            self.send_header("Content-Length", str(len(data)))
            for name, value in (headers or {}).items():
                self.send_header(name, value)
            self.end_headers()
            self.wfile.write(data)

        def _account(self) -> tuple[str | None, bool]:
            """(user name sent or None, whether the credentials are right)."""
            header = self.headers.get("Authorization", "")
            if not header.lower().startswith("basic "):
                return None, True
            try:
                user, _, password = base64.b64decode(header[6:].strip()).decode().partition(":")
            except (binascii.Error, UnicodeDecodeError):
                return "", False
            return user, server.users.get(user) == password

        def do_GET(self) -> None:  # noqa: N802 - http.server's naming
            url = urlsplit(self.path)
            if url.path != "/token":
                self._send(404, {"errors": [{"code": "NOT_FOUND", "message": "no such endpoint"}]})
                return
            query = parse_qs(url.query)
            scopes = [s for value in query.get("scope", []) for s in value.split()]
            service = query.get("service", [None])[0]
            account, ok = self._account()
            if not ok:
                server.record(TokenRequest(account, service, scopes, 401))
                self._send(401, {"errors": [{"code": "UNAUTHORIZED", "message": "authentication required"}]},
                           {"WWW-Authenticate": 'Basic realm="bee-test-token-server"'})
                return
            token, access = server.issue(account, scopes)
            server.record(TokenRequest(account, service, scopes, 200, access))
            issued = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
            self._send(200, {"token": token, "access_token": token, "expires_in": server.expires_in,
                             "issued_at": issued})

    return Handler
