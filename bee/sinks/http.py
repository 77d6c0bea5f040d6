"""The HTTP endpoint Prometheus scrapes: `GET /metrics` and `GET /healthz`.

`MetricsServer.start()` binds (raising `SinkError` with one sentence when it cannot) and serves
from a daemon thread, one thread per request; `stop()` shuts it down and closes the socket.
The server owns its socket; the registry stays the caller's. Requests are not logged.
"""

from __future__ import annotations

import errno
import logging
import socket
import socketserver
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from bee.sinks.errors import SinkError
from bee.sinks.metrics import CONTENT_TYPE, MetricsRegistry

logger = logging.getLogger("bee.sinks")


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True  # rebinding right after a restart (TIME_WAIT), as Go's listener does
    allow_reuse_port = False  # never share a port with another listener

    def __init__(self, address: tuple[str, int], family: int, owner: MetricsServer) -> None:
        self.address_family = family
        self.owner = owner
        super().__init__(address, _Handler)

    def server_bind(self) -> None:
        if self.address_family == socket.AF_INET6 and self.server_address[0] in ("::", "::0"):
            # all interfaces means IPv4 too, whatever net.ipv6.bindv6only says (as Go's ":port")
            self.socket.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
        # TCPServer's bind, not HTTPServer's: that one resolves the host name (getfqdn), which can hang
        socketserver.TCPServer.server_bind(self)
        self.server_name, self.server_port = self.server_address[0], self.server_address[1]

    def handle_error(self, request: object, client_address: object) -> None:
        logger.debug("metrics request from %s failed", client_address, exc_info=True)


class _Handler(BaseHTTPRequestHandler):
    server: _Server
    timeout = 30  # an idle or slow client cannot hold a thread for ever
    server_version = "bee"

    def do_GET(self) -> None:
        self._respond(head=False)

    def do_HEAD(self) -> None:
        self._respond(head=True)

    def _respond(self, *, head: bool) -> None:
        path = self.path.split("?", 1)[0]
        owner = self.server.owner
        if path == "/metrics":
            try:
                body, status, ctype = owner.registry.exposition(), 200, CONTENT_TYPE
            except Exception:
                logger.exception("rendering metrics failed")
                body, status, ctype = b"cannot render metrics\n", 500, "text/plain; charset=utf-8"
        elif path == "/healthz":
            ready = owner.ready
            body, status, ctype = (b"ok\n", 200, "text/plain") if ready else (b"not ready\n", 503, "text/plain")
        else:
            body, status, ctype = b"not found\n", 404, "text/plain"
        self.send_response(status)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        if not head:
            self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        pass


class MetricsServer:
    """Serves `registry` over HTTP on `host:port` (`port=0`: any free port, see `.port`).

    `/healthz` answers 503 until `mark_ready()`, then 200 "ok". Usable as a context manager.
    """

    def __init__(self, registry: MetricsRegistry, host: str = "0.0.0.0", port: int = 9091) -> None:
        self.registry = registry
        self.host = host
        self._port = port
        self._ready = threading.Event()
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()

    @property
    def port(self) -> int:
        """The bound port once started (the one picked when asked for 0), else the one asked for."""
        return self._port

    @property
    def ready(self) -> bool:
        return self._ready.is_set()

    @property
    def url(self) -> str:
        """`http://host:port` as a client on this machine would reach it."""
        host = {"0.0.0.0": "127.0.0.1", "::": "::1", "": "127.0.0.1"}.get(self.host, self.host)
        return f"http://{_join(host, self._port)}"

    def mark_ready(self) -> None:
        """Make `/healthz` answer 200 (call once programs are attached)."""
        self._ready.set()

    def start(self) -> None:
        """Bind and serve from a daemon thread. SinkError if the address is unusable or the port taken."""
        with self._lock:
            if self._server is not None:
                return
            self._server = self._bind()
            self._port = self._server.server_address[1]
            self._thread = threading.Thread(
                target=self._server.serve_forever, kwargs={"poll_interval": 0.2}, name="bee-metrics", daemon=True
            )
            self._thread.start()

    def _bind(self) -> _Server:
        where = _join(self.host, self._port)
        try:
            family = _family(self.host, self._port)
            return _Server((self.host, self._port), family, self)
        except OSError as exc:
            if exc.errno == errno.EADDRINUSE:
                reason = "address already in use; choose another with --prom-port"
            elif exc.errno == errno.EACCES:
                reason = "permission denied; choose a port above 1023 with --prom-port or run as root"
            elif exc.errno == errno.EADDRNOTAVAIL:
                reason = "that address is not on this machine"
            else:
                reason = _reason(exc)
            raise SinkError(f"cannot serve metrics on {where}: {reason}") from exc
        except OverflowError:
            raise SinkError(f"cannot serve metrics on {where}: ports go from 0 to 65535") from None

    def stop(self) -> None:
        """Stop serving and close the socket; safe to call twice or before `start()`."""
        with self._lock:
            server, thread = self._server, self._thread
            self._server = self._thread = None
        if server is None:
            return
        if thread is not None:
            server.shutdown()
            thread.join()
        server.server_close()

    def __enter__(self) -> MetricsServer:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def _family(host: str, port: int) -> int:
    """AF_INET6 for IPv6 literals or names that only resolve to IPv6; raises OSError if unresolvable."""
    if ":" in host:
        return socket.AF_INET6
    if host == "":
        return socket.AF_INET
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, flags=socket.AI_PASSIVE)
    families = {info[0] for info in infos}
    return socket.AF_INET if socket.AF_INET in families else socket.AF_INET6


def _join(host: str, port: int) -> str:
    return f"[{host}]:{port}" if ":" in host else f"{host}:{port}"


def _reason(exc: OSError) -> str:
    if isinstance(exc, socket.gaierror):
        return f"invalid address ({exc.strerror or exc})"
    text = exc.strerror or str(exc)
    return text[:1].lower() + text[1:]
