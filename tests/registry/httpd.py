"""A small HTTP server on loopback, served from a daemon thread (the test token server and proxy)."""

from __future__ import annotations

import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import TypeVar

S = TypeVar("S", bound="LoopbackHTTPServer")


class LoopbackHTTPServer:
    """Serves `handler` on 127.0.0.1 at a free `port`; `start()` it, `close()` it."""

    def __init__(self, handler: type[BaseHTTPRequestHandler], name: str) -> None:
        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self._httpd.daemon_threads = True
        self._thread = threading.Thread(target=self._httpd.serve_forever, args=(0.05,), name=name, daemon=True)
        self.port = int(self._httpd.server_address[1])

    def start(self: S) -> S:
        self._thread.start()
        return self

    def close(self) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()
        self._thread.join(5)
