"""A loopback HTTP proxy in front of a plain-HTTP registry that corrupts blob downloads.

Every request is forwarded unchanged (the `Host` header too, so the registry's upload `Location`
URLs point back at the proxy). The body of a successful `GET /v2/<name>/blobs/sha256:...` has one
byte flipped, for every blob or only for `digest`; with `manifests=True`, manifest GETs too.
With `relative_locations=True` nothing is corrupted: `Location` headers lose their scheme and
host (`/v2/...?_state=...`), as some registries (GHCR) send them.
"""

from __future__ import annotations

import http.client
import re
import threading
from http.server import BaseHTTPRequestHandler
from typing import Any
from urllib.parse import urlsplit

from tests.registry.httpd import LoopbackHTTPServer

BLOB_PATH = re.compile(r"^/v2/(?P<name>.+)/blobs/(?P<digest>sha256:[a-f0-9]{64})$")
MANIFEST_PATH = re.compile(r"^/v2/(?P<name>.+)/manifests/(?P<digest>[^/]+)$")
HOP_BY_HOP = {"connection", "keep-alive", "transfer-encoding", "te", "trailer", "upgrade", "proxy-connection",
              "content-length"}


def flip(body: bytes) -> bytes:
    """`body` with its middle byte inverted (same length, different digest)."""
    middle = len(body) // 2
    return body[:middle] + bytes([body[middle] ^ 0xFF]) + body[middle + 1:]


class TamperingProxy(LoopbackHTTPServer):
    """Forwards to `upstream` (an `http://` URL); `url` is the proxy's; `tampered` lists corrupted paths."""

    def __init__(self, upstream: str, *, digest: str | None = None, manifests: bool = False,
                 relative_locations: bool = False) -> None:
        split = urlsplit(upstream)
        if split.scheme != "http" or not split.hostname:
            raise ValueError(f"the tampering proxy forwards to plain http:// only, not {upstream!r}")
        self.upstream_host, self.upstream_port = split.hostname, split.port or 80
        self.digest, self.manifests = digest, manifests
        self.relative_locations = relative_locations
        self.tampered: list[str] = []
        self.forwarded: list[str] = []  # "METHOD /path" of every request
        self._lock = threading.Lock()
        super().__init__(_handler(self), "tampering-proxy")
        self.host = f"127.0.0.1:{self.port}"
        self.url = f"http://{self.host}"

    def should_tamper(self, method: str, path: str, status: int) -> bool:
        if method != "GET" or status != 200 or self.relative_locations:
            return False
        match = BLOB_PATH.match(path) or (MANIFEST_PATH.match(path) if self.manifests else None)
        return match is not None and (self.digest is None or match["digest"] == self.digest)

    def answer(self, method: str, path: str, body: bytes | None) -> tuple[int, dict[str, str], bytes] | None:
        """A reply of the proxy's own (status, headers, body) instead of forwarding; None: forward.
        Subclasses add what the registry behind them lacks (tests/registry/referrers.py)."""
        return None

    def note(self, forwarded: str, tampered: str | None) -> None:
        with self._lock:
            self.forwarded.append(forwarded)
            if tampered:
                self.tampered.append(tampered)


def _read_body(handler: BaseHTTPRequestHandler) -> bytes | None:
    """The request body, de-chunked; None when there is none."""
    if handler.headers.get("Transfer-Encoding", "").lower() == "chunked":
        chunks = []
        while True:
            size = int(handler.rfile.readline().split(b";")[0].strip(), 16)
            if size == 0:
                while handler.rfile.readline() not in (b"\r\n", b"\n", b""):
                    pass
                return b"".join(chunks)
            chunks.append(handler.rfile.read(size))
            handler.rfile.readline()
    length = handler.headers.get("Content-Length")
    return handler.rfile.read(int(length)) if length is not None else None


def _handler(proxy: TamperingProxy) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - the base class's name
            pass

        def _forward(self) -> None:
            body = _read_body(self)
            own = proxy.answer(self.command, self.path, body)
            if own is not None:
                status, headers, data = own
                proxy.note(f"{self.command} {self.path}", None)
                self.send_response(status)
                for name, value in headers.items():
                    self.send_header(name, value)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                if self.command != "HEAD":
                    self.wfile.write(data)
                return
            headers = {k: v for k, v in self.headers.items() if k.lower() not in HOP_BY_HOP}
            if body is not None:
                headers["Content-Length"] = str(len(body))
            conn = http.client.HTTPConnection(proxy.upstream_host, proxy.upstream_port, timeout=30)
            try:
                conn.request(self.command, self.path, body=body, headers=headers)
                response = conn.getresponse()
                data = response.read()
                path = urlsplit(self.path).path
                tampered = path if data and proxy.should_tamper(self.command, path, response.status) else None
                if tampered:
                    data = flip(data)
                proxy.note(f"{self.command} {self.path}", tampered)
                self.send_response(response.status, response.reason)
                for name, value in response.getheaders():
                    if name.lower() == "location" and proxy.relative_locations:
                        split = urlsplit(value)
                        value = split.path + (f"?{split.query}" if split.query else "")
                    if name.lower() not in HOP_BY_HOP:
                        self.send_header(name, value)
                if self.command == "HEAD" or response.status in (204, 304):
                    length = response.getheader("Content-Length")
                    if length is not None:
                        self.send_header("Content-Length", length)
                    self.end_headers()
                else:
                    self.send_header("Content-Length", str(len(data)))
                    self.end_headers()
                    self.wfile.write(data)
            finally:
                conn.close()

        do_GET = do_HEAD = do_POST = do_PUT = do_PATCH = do_DELETE = _forward  # noqa: N815 - http.server's naming

    return Handler
