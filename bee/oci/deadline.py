"""The time limit of one registry operation (a pull, a push, a login check), enforced on its sockets.

A `Deadline` starts at `seconds` (bee's `--timeout`) and grows with `allow(nbytes)`: a blob of n bytes
adds n / `MIN_RATE` seconds, so a big transfer on a slow link still finishes, while a registry that
answers a byte at a time cannot hold bee longer than the limit. Silence alone is also bounded by each
request's read timeout; what the deadline adds is the bound on answers that trickle: when it passes,
its watchdog thread shuts down the sockets the operation uses, which ends a read in progress at once,
and `fired` tells the reader why its read failed.

`DeadlineAdapter` is the `requests` transport adapter that shows the deadline the connections its
requests take from the pool (connections made through an HTTP proxy are not watched: the read timeout
still bounds their silence). `close()` stops the watchdog; the owner of the deadline calls it.
"""

from __future__ import annotations

import contextlib
import socket
import threading
import time
import weakref
from collections.abc import Callable
from typing import Any

from requests.adapters import HTTPAdapter
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool

#: The slowest transfer rate a blob is allowed (bytes a second): 512 MiB, bee's largest blob, may take 4.5 h.
MIN_RATE = 32 << 10

#: The watchdog acts this long after the deadline, so that a request that was silent until then ends by its own
#: read timeout (and is reported as silent) rather than by a shut-down socket.
WATCHDOG_GRACE = 0.5

_current = threading.local()  # the deadline of the request this thread is sending, for the pools below


class Deadline:
    """When one operation must be done by; thread-safe (`watch` runs in the requesting thread, the
    watchdog in its own)."""

    def __init__(self, seconds: float, *, clock: Callable[[], float] = time.monotonic) -> None:
        self.seconds = seconds
        self._clock = clock
        self._end = clock() + seconds
        self._allowance = 0.0
        self._lock = threading.Lock()
        self._connections: weakref.WeakSet[Any] = weakref.WeakSet()
        self._wake = threading.Event()
        self._thread: threading.Thread | None = None
        self._closed = False
        self.fired = False

    @property
    def limit(self) -> float:
        """The seconds the operation may take in all: `seconds` plus what `allow` added."""
        return self.seconds + self._allowance

    def allow(self, nbytes: int) -> None:
        """Give the operation time to move `nbytes` more bytes at `MIN_RATE`."""
        extra = nbytes / MIN_RATE
        with self._lock:
            self._end += extra
            self._allowance += extra
        self._wake.set()

    def remaining(self) -> float:
        """Seconds left (0 once the deadline has passed or fired)."""
        return 0.0 if self.fired else max(0.0, self._end - self._clock())

    def watch(self, connection: Any) -> None:
        """Shut `connection`'s socket down if the deadline passes while the operation runs."""
        with self._lock:
            if self._closed:
                return
            self._connections.add(connection)
            if self._thread is None:
                self._thread = threading.Thread(target=self._watchdog, name="bee-registry-deadline", daemon=True)
                self._thread.start()

    def close(self) -> None:
        """Stop watching (the operation is over); idempotent."""
        with self._lock:
            self._closed = True
            self._connections.clear()
        self._wake.set()

    def _watchdog(self) -> None:
        while True:
            with self._lock:
                if self._closed:
                    return
                left = self._end + WATCHDOG_GRACE - self._clock()
                if left <= 0:
                    self.fired = True
                    connections = list(self._connections)
                    break
            self._wake.wait(left)
            self._wake.clear()
        for connection in connections:
            sock = getattr(connection, "sock", None)
            if sock is not None:
                # socket.socket's own shutdown: an SSLSocket's would also drop its TLS state under a reader
                with contextlib.suppress(OSError):
                    socket.socket.shutdown(sock, socket.SHUT_RDWR)


class _Watched:
    """Pool mixin: each connection taken for a request is shown to that request's deadline."""

    def _get_conn(self, timeout: float | None = None) -> Any:
        connection = super()._get_conn(timeout)  # type: ignore[misc]
        deadline: Deadline | None = getattr(_current, "deadline", None)
        if deadline is not None:
            deadline.watch(connection)
        return connection


class _WatchedHTTPPool(_Watched, HTTPConnectionPool):
    pass


class _WatchedHTTPSPool(_Watched, HTTPSConnectionPool):
    pass


class DeadlineAdapter(HTTPAdapter):
    """A transport adapter whose requests' connections are watched by `deadline`."""

    def __init__(self, deadline: Deadline) -> None:
        self.deadline = deadline
        super().__init__()

    def init_poolmanager(self, *args: Any, **kwargs: Any) -> None:
        super().init_poolmanager(*args, **kwargs)
        self.poolmanager.pool_classes_by_scheme = {"http": _WatchedHTTPPool, "https": _WatchedHTTPSPool}

    def send(self, request: Any, *args: Any, **kwargs: Any) -> Any:
        _current.deadline = self.deadline
        try:
            return super().send(request, *args, **kwargs)
        finally:
            _current.deadline = None
