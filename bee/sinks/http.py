"""The HTTP endpoint Prometheus scrapes: `GET /metrics` and `GET /healthz`.

`MetricsServer.start()` binds (raising `SinkError` with one sentence when it cannot) and serves
from a daemon thread; `stop()` shuts it down and closes the socket. The server owns its socket; the
registry stays the caller's. Requests are not logged.

Many or idle clients cannot starve a scrape (docs/running.md, Metrics): the serving thread accepts
every connection (a backlog of `BACKLOG` waits in the kernel) and reads requests itself, without
blocking, keeping at most `MAX_WAITING` connections whose request is not complete (a newer one
closes the oldest) and cutting any that has not sent its whole request `HEADER_TIMEOUT` seconds
after it connected. Complete requests are answered by at most `MAX_ANSWERING` threads, started on
demand; a client that does not read its answer is cut after `SEND_TIMEOUT` seconds.

The protocol is the small part of HTTP/1.1 a scraper needs, on `socketserver` (the standard
library's `http.server` costs a run tens of milliseconds of imports): one request per
connection, `GET` and `HEAD` of `/metrics` and `/healthz` (a query string is ignored),
404 for other paths, 405 for other methods, 400 for what is not an HTTP request.
"""

from __future__ import annotations

import errno
import io
import os
import select
import socket
import socketserver
import threading
import time
from collections import OrderedDict, deque
from collections.abc import Callable

from bee.log import get as get_logger  # imports logging only for a message: ~6 ms (docs/dev/startup.md)
from bee.sinks.errors import SinkError
from bee.sinks.families import CONTENT_TYPE
from bee.sinks.metrics import MetricsRegistry

TYPE_CHECKING = False  # typing's flag without importing typing: ~3 ms of bee run (docs/dev/startup.md)
if TYPE_CHECKING:
    import ssl

    from bee.sinks.webconfig import WebConfig

logger = get_logger("bee.sinks")

_MAX_LINE = 65536  # bytes of the request line or of one header line (as http.server)
_MAX_HEADERS = 100
_MAX_REQUEST = 65536  # bytes of a whole request head: more is answered 400

#: Limits of the endpoint, documented in docs/running.md (Metrics).
BACKLOG = 1024  # connections the kernel queues before the server accepts them (capped by net.core.somaxconn)
MAX_WAITING = 256  # connections accepted whose request is not complete yet; a newer one closes the oldest
HEADER_TIMEOUT = 5.0  # seconds from connecting to the end of the request's headers, in all
MAX_ANSWERING = 8  # threads answering complete requests at once
SEND_TIMEOUT = 10.0  # seconds a client may take to read its answer
_TLS_WANTS = ("SSLWantReadError", "SSLWantWriteError")
_ACCEPT_BATCH = 16  # connections accepted before the waiting ones are read again
_REASONS = {200: "OK", 400: "Bad Request", 401: "Unauthorized", 404: "Not Found", 405: "Method Not Allowed",
            500: "Internal Server Error", 503: "Service Unavailable"}
_DAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")


class _Server(socketserver.TCPServer):
    """Binds and listens (the serving loop is `_serve`'s, not socketserver's)."""

    request_queue_size = BACKLOG
    allow_reuse_address = True  # rebinding right after a restart (TIME_WAIT), as Go's listener does
    allow_reuse_port = False  # never share a port with another listener

    def __init__(self, address: tuple[str, int], family: int, owner: MetricsServer) -> None:
        self.address_family = family
        self.owner = owner
        super().__init__(address, socketserver.BaseRequestHandler)

    def server_bind(self) -> None:
        if self.address_family == socket.AF_INET6 and self.server_address[0] in ("::", "::0"):
            # all interfaces means IPv4 too, whatever net.ipv6.bindv6only says (as Go's ":port")
            self.socket.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 0)
        super().server_bind()



def _complete(head: bytes) -> bool:
    """True once `head` (what a client sent so far) is a whole request head, or is already bad enough
    to answer 400 (a first line that is not a request line, or too much)."""
    if len(head) > _MAX_REQUEST:
        return True
    end = head.find(b"\n")
    if end < 0:
        return False
    parts = head[:end].split()
    if len(parts) != 3 or not parts[2].startswith(b"HTTP/"):
        return True
    return b"\n\r\n" in head or b"\n\n" in head


def _respond(owner: MetricsServer, head: bytes) -> bytes:
    """The whole answer to the request head `head` (b"" for a client that closed without asking)."""
    rfile = io.BytesIO(head)
    request_line = rfile.readline(_MAX_LINE + 1)
    if not request_line:
        return b""  # connected and closed without a request
    parts = request_line.decode("latin-1").split()
    if len(request_line) > _MAX_LINE or len(parts) != 3 or not parts[2].startswith("HTTP/"):
        return _reply(400, "text/plain", b"bad request\n")
    authorization = None
    for _ in range(_MAX_HEADERS + 1):  # headers are read and ignored, but Authorization
        line = rfile.readline(_MAX_LINE + 1)
        if line in (b"\r\n", b"\n", b""):
            break
        if len(line) > _MAX_LINE:
            return _reply(400, "text/plain", b"bad request\n")
        name, _, value = line.partition(b":")
        if name.strip().lower() == b"authorization":
            authorization = value.strip().decode("latin-1")
    else:
        return _reply(400, "text/plain", b"too many headers\n")
    if len(head) > _MAX_REQUEST:
        return _reply(400, "text/plain", b"request too large\n")
    method, target = parts[0], parts[1]
    if owner.web is not None and not owner.web.allowed(authorization):
        return _reply(401, "text/plain", b"Unauthorized\n", authenticate=True)
    if method not in ("GET", "HEAD"):
        return _reply(405, "text/plain", b"method not allowed\n", allow=True)
    status, ctype, body = _answer(owner, target.split("?", 1)[0])
    return _reply(status, ctype, body, head=method == "HEAD")


def _answer(owner: MetricsServer, path: str) -> tuple[int, str, bytes]:
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

def _reply(status: int, ctype: str, body: bytes, *, head: bool = False, allow: bool = False,
           authenticate: bool = False) -> bytes:
    header = (f"HTTP/1.1 {status} {_REASONS[status]}\r\n"
              f"Server: bee\r\nDate: {_http_date(time.time())}\r\n"
              f"Content-Type: {ctype}\r\nContent-Length: {len(body)}\r\n"
              + ("Allow: GET, HEAD\r\n" if allow else "")
              + ('WWW-Authenticate: Basic realm="bee"\r\n' if authenticate else "")
              + "Connection: close\r\n\r\n")
    return header.encode("latin-1") + (b"" if head else body)


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

    def __init__(self, registry: MetricsRegistry, host: str = "0.0.0.0", port: int = 9091,
                 web: WebConfig | None = None) -> None:
        self.registry = registry
        self.web = web  # TLS and basic auth (--web-config), or None
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
        scheme = "https" if self.web is not None and self.web.tls is not None else "http"
        return f"{scheme}://{_join(host, self._port)}"

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


class _Waiting:
    """A connection accepted whose request is not complete yet (with TLS, maybe not even its handshake)."""

    __slots__ = ("sock", "head", "deadline", "handshaking")

    def __init__(self, sock: socket.socket, deadline: float, handshaking: bool = False) -> None:
        self.sock, self.head, self.deadline, self.handshaking = sock, b"", deadline, handshaking


class _Answering:
    """Complete requests waiting for an answer, and the threads (at most MAX_ANSWERING) answering them."""

    def __init__(self, owner: MetricsServer) -> None:
        self.owner = owner
        self.queue: deque[tuple[socket.socket, bytes]] = deque()
        self.threads = 0
        self.lock = threading.Lock()

    def put(self, sock: socket.socket, head: bytes) -> None:
        with self.lock:
            self.queue.append((sock, head))
            if self.threads >= MAX_ANSWERING:
                return
            self.threads += 1
        threading.Thread(target=self._work, name="bee-metrics-answer", daemon=True).start()

    def _work(self) -> None:
        while True:
            with self.lock:
                if not self.queue:
                    self.threads -= 1
                    return
                sock, head = self.queue.popleft()
            try:
                answer = _respond(self.owner, head)
                if answer:
                    sock.settimeout(SEND_TIMEOUT)
                    sock.sendall(answer)
            except Exception:
                logger.debug("answering a metrics request failed", exc_info=True)
            finally:
                sock.close()


def _serve(server: _Server, wake: int) -> None:
    """Accept connections and read their requests (non-blocking, within the limits of the module's
    docstring) until `wake` is readable; complete requests go to the answering threads. Nothing runs
    while no one connects, and a stop takes effect at once (socketserver's `serve_forever` polls)."""
    listener = server.socket
    listener.setblocking(False)
    web = server.owner.web
    tls = web.tls if web is not None else None
    answering = _Answering(server.owner)
    waiting: OrderedDict[int, _Waiting] = OrderedDict()  # by fd, oldest first (so by deadline too)
    poller = select.poll()
    poller.register(listener.fileno(), select.POLLIN)
    poller.register(wake, select.POLLIN)

    def drop(fd: int) -> None:
        poller.unregister(fd)
        waiting.pop(fd).sock.close()

    try:
        while True:
            timeout = None
            if waiting:
                first = next(iter(waiting.values()))
                timeout = max(0, int((first.deadline - time.monotonic()) * 1000) + 1)
            for fd, _ in poller.poll(timeout):
                if fd == wake:
                    return
                if fd == listener.fileno():
                    _accept(listener, poller, waiting, drop, tls)
                elif fd in waiting:
                    _read(fd, waiting, poller, answering)
            now = time.monotonic()
            while waiting and next(iter(waiting.values())).deadline <= now:  # too slow: cut
                drop(next(iter(waiting)))
    finally:
        for item in waiting.values():
            item.sock.close()


def _accept(listener: socket.socket, poller: select.poll, waiting: OrderedDict[int, _Waiting],
            drop: Callable[[int], None], tls: ssl.SSLContext | None = None) -> None:
    """Accept the connections pending, a few at a time (so that reading the requests already sent goes
    between); past MAX_WAITING the oldest waiting one is closed for each. With `tls`, each is wrapped for a
    server-side handshake, done in `_read`."""
    for _ in range(_ACCEPT_BATCH):
        try:
            sock, _ = listener.accept()
        except (BlockingIOError, InterruptedError):
            return
        except OSError:  # out of file descriptors, a connection reset before accept: try again later
            logger.debug("accepting a metrics connection failed", exc_info=True)
            return
        if len(waiting) >= MAX_WAITING:
            drop(next(iter(waiting)))
        sock.setblocking(False)
        if tls is not None:  # the handshake goes on in _read, without blocking, within HEADER_TIMEOUT
            sock = tls.wrap_socket(sock, server_side=True, do_handshake_on_connect=False)
        waiting[sock.fileno()] = _Waiting(sock, time.monotonic() + HEADER_TIMEOUT, handshaking=tls is not None)
        poller.register(sock.fileno(), select.POLLIN)


def _read(fd: int, waiting: OrderedDict[int, _Waiting], poller: select.poll, answering: _Answering) -> None:
    """Read what the client of `fd` sent; hand its request over once complete (or once it closed)."""
    item = waiting[fd]
    if item.handshaking and not _handshake(item):
        if item.handshaking:
            return  # more of the handshake to come
        data, item.head = b"", b""  # failed: closed below
    else:
        try:
            data = item.sock.recv(_MAX_REQUEST + 1)
        except (BlockingIOError, InterruptedError):
            return
        except OSError as exc:
            if type(exc).__name__ in _TLS_WANTS:  # no more decrypted bytes yet (ssl is imported only for TLS)
                return
            data = b""
            item.head = b""  # reset: nothing to answer
    item.head += data
    if data and not _complete(item.head):
        return
    poller.unregister(fd)
    del waiting[fd]
    if item.head:
        item.sock.setblocking(True)
        answering.put(item.sock, item.head)
    else:
        item.sock.close()


def _handshake(item: _Waiting) -> bool:
    """Go on with the TLS handshake of `item`: True once done (`handshaking` cleared); False while more is to
    come (`handshaking` still set) or when it failed (`handshaking` cleared, nothing to answer). A client
    speaking plain HTTP to the TLS port is told so in plain HTTP first, as Go's servers do."""
    import ssl  # only a TLS endpoint gets here (its context made by bee.sinks.webconfig imported it already)

    sock = item.sock
    if _refuse_plain_http(sock):
        item.handshaking = False
        return False
    try:
        sock.do_handshake()  # type: ignore[attr-defined]
    except (ssl.SSLWantReadError, ssl.SSLWantWriteError):
        return False
    except OSError:
        item.handshaking = False
        return False
    item.handshaking = False
    return True


def _refuse_plain_http(sock: socket.socket) -> bool:
    """True, having answered 400 in plain HTTP, when what the client sent instead of a TLS record (its first
    byte 0x16 .. 0x17) is an HTTP request: peeked at, so the handshake still reads it all otherwise."""
    try:
        head = socket.socket.recv(sock, 8, socket.MSG_PEEK)
    except OSError:
        return False
    if head.split(b" ", 1)[0] not in (b"GET", b"HEAD", b"POST", b"PUT", b"OPTIONS"):
        return False
    try:
        socket.socket.recv(sock, _MAX_REQUEST)  # read what it sent, so closing does not reset the connection
        socket.socket.send(sock, _reply(400, "text/plain", b"Client sent an HTTP request to an HTTPS server.\n"))
    except OSError:
        pass
    return True


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
