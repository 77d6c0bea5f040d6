"""The HTTP endpoint Prometheus scrapes: `GET /metrics` and `GET /healthz`.

`MetricsServer.start()` binds (raising `SinkError` with one sentence when it cannot) and serves
from a daemon thread, one thread per request; `stop()` shuts it down and closes the socket.
The server owns its socket; the registry stays the caller's. Requests are not logged.

The protocol is the small part of HTTP/1.1 a scraper needs, on `socketserver` (the standard
library's `http.server` costs a run tens of milliseconds of imports): one request per
connection, `GET` and `HEAD` of `/metrics` and `/healthz` (a query string is ignored),
404 for other paths, 405 for other methods, 400 for what is not an HTTP request.
"""

from __future__ import annotations

import errno
import os
import select
import socket
import socketserver
import threading
import time
from collections.abc import Callable

from bee.log import get as get_logger  # imports logging only for a message: ~6 ms (docs/startup.md)
from bee.sinks.errors import SinkError
from bee.sinks.families import CONTENT_TYPE
from bee.sinks.metrics import MetricsRegistry

logger = get_logger("bee.sinks")

_MAX_LINE = 65536  # bytes of the request line or of one header line (as http.server)
_MAX_HEADERS = 100
_REASONS = {200: "OK", 400: "Bad Request", 404: "Not Found", 405: "Method Not Allowed",
            500: "Internal Server Error", 503: "Service Unavailable"}
_DAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


class _Server(socketserver.ThreadingTCPServer):
    daemon_threads = True
    allow_reuse_address = True  # rebinding right after a restart (TIME_WAIT), as Go's listener does
    allow_reuse_port = False  # never share a port with another listener
    timeout = 1.0  # handle_request() is only called with a connection pending; never wait long for one

    def __init__(self, address: tuple[str, int], family: int, owner: MetricsServer) -> None:
        self.address_family = family
        self.owner = owner
        super().__init__(address, _Handler)

    def server_bind(self) -> None:
        if self.address_family == socket.AF_INET6 and self.server_address[0] in ("::", "::0"):
            # all interfaces means IPv4 too, whatever net.ipv6.bindv6only says (as Go's ":port")
            self.socket.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
        super().server_bind()

    def handle_error(self, request: object, client_address: object) -> None:
        logger.debug("metrics request from %s failed", client_address, exc_info=True)


class _Handler(socketserver.StreamRequestHandler):
    """Reads one request, answers it, closes the connection."""

    server: _Server
    timeout = 30  # an idle or slow client cannot hold a thread for ever

    def handle(self) -> None:
        request_line = self.rfile.readline(_MAX_LINE + 1)
        if not request_line:
            return  # connected and closed without a request
        parts = request_line.decode("latin-1").split()
        if len(request_line) > _MAX_LINE or len(parts) != 3 or not parts[2].startswith("HTTP/"):
            self._reply(400, "text/plain", b"bad request\n")
            return
        for _ in range(_MAX_HEADERS + 1):  # headers are read and ignored
            line = self.rfile.readline(_MAX_LINE + 1)
            if line in (b"\r\n", b"\n", b""):
                break
            if len(line) > _MAX_LINE:
                self._reply(400, "text/plain", b"bad request\n")
                return
        else:
            self._reply(400, "text/plain", b"too many headers\n")
            return
        method, target = parts[0], parts[1]
        if method not in ("GET", "HEAD"):
            self._reply(405, "text/plain", b"method not allowed\n", allow=True)
            return
        status, ctype, body = self._answer(target.split("?", 1)[0])
        self._reply(status, ctype, body, head=method == "HEAD")

    def _answer(self, path: str) -> tuple[int, str, bytes]:
        owner = self.server.owner
        if path == "/metrics":
            try:
                return 200, CONTENT_TYPE, owner.registry.exposition()
            except Exception:
                logger.exception("rendering metrics failed")
                return 500, "text/plain; charset=utf-8", b"cannot render metrics\n"
        if path == "/healthz":
            if owner.health is not None:
                return owner.health(owner.ready)
            return (200, "text/plain", b"ok\n") if owner.ready else (503, "text/plain", b"not ready\n")
        return 404, "text/plain", b"not found\n"

    def _reply(self, status: int, ctype: str, body: bytes, *, head: bool = False, allow: bool = False) -> None:
        header = (f"HTTP/1.1 {status} {_REASONS[status]}\r\n"
                  f"Server: bee\r\nDate: {_http_date(time.time())}\r\n"
                  f"Content-Type: {ctype}\r\nContent-Length: {len(body)}\r\n"
                  + ("Allow: GET, HEAD\r\n" if allow else "")
                  + "Connection: close\r\n\r\n")
        self.wfile.write(header.encode("latin-1") + (b"" if head else body))


def _http_date(now: float) -> str:
    """`now` as an HTTP date (RFC 9110 IMF-fixdate), independent of the locale."""
    t = time.gmtime(now)
    return (f"{_DAYS[t.tm_wday]}, {t.tm_mday:02d} {_MONTHS[t.tm_mon - 1]} {t.tm_year} "
            f"{t.tm_hour:02d}:{t.tm_min:02d}:{t.tm_sec:02d} GMT")


class MetricsServer:
    """Serves `registry` over HTTP on `host:port` (`port=0`: any free port, see `.port`).

    `/healthz` answers 503 until `mark_ready()`, then 200 "ok"; when `health` is set, it answers
    `health(ready)` instead: (status, content type, body). Usable as a context manager.
    """

    def __init__(self, registry: MetricsRegistry, host: str = "0.0.0.0", port: int = 9091) -> None:
        self.registry = registry
        self.host = host
        self._port = port
        self._ready = threading.Event()
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None
        self._wake: tuple[int, int] | None = None  # a pipe: writing to it ends the serving thread
        self._lock = threading.Lock()
        self.health: Callable[[bool], tuple[int, str, bytes]] | None = None

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
            server = self._bind()
            self._wake = os.pipe()
            self._server, self._port = server, server.server_address[1]
            self._thread = threading.Thread(target=_serve, args=(server, self._wake[0]), name="bee-metrics",
                                            daemon=True)
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
            server, thread, wake = self._server, self._thread, self._wake
            self._server = self._thread = self._wake = None
        if server is None:
            return
        if wake is not None:
            os.write(wake[1], b"x")
        if thread is not None:
            thread.join()
        server.server_close()
        if wake is not None:
            os.close(wake[0])
            os.close(wake[1])

    def __enter__(self) -> MetricsServer:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def _serve(server: _Server, wake: int) -> None:
    """Accept connections (each handled on a thread of its own) until `wake` is readable: nothing runs
    while no one connects, and a stop takes effect at once (socketserver's `serve_forever` polls)."""
    poller = select.poll()
    poller.register(server.fileno(), select.POLLIN)
    poller.register(wake, select.POLLIN)
    while True:
        ready = poller.poll()
        if any(fd == wake for fd, _ in ready):
            return
        server.handle_request()  # the socket is readable: accepts one connection without waiting


def _family(host: str, port: int) -> int:
    """AF_INET6 for IPv6 literals or names that only resolve to IPv6; raises OSError if unresolvable."""
    if ":" in host:
        return socket.AF_INET6
    if host == "":
        return socket.AF_INET
    try:
        socket.inet_pton(socket.AF_INET, host)  # a literal needs no resolver (nor its idna codec)
        return socket.AF_INET
    except OSError:
        pass
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
