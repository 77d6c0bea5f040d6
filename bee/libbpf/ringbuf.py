"""`RingBuffer`: read BPF ring-buffer maps (kernel >= 5.8) with one Python callable per map.

Each callable gets one sample as `bytes` (a copy: the ring memory is reused after the
callback returns). An exception raised by a callable, including KeyboardInterrupt, stops
the current `poll()`/`consume()` and is re-raised from it once libbpf has returned; the
sample that raised is consumed. Not thread-safe: poll from one thread.
"""

from __future__ import annotations

import errno as E
from collections.abc import Callable, Mapping
from typing import Any

from bee.libbpf import _ffi
from bee.libbpf.errors import ClosedError, LibbpfError, describe_errno
from bee.libbpf.map import Map

ffi = _ffi.ffi

Handler = Callable[[bytes], object]

# libbpf stops processing and returns a callback's value only when it is negative.
_STOP = -1


class RingBuffer:
    """A libbpf `struct ring_buffer` over one or more RINGBUF maps, freed by `close()`.

    The maps (or their fds) must stay open while the ring buffer lives: a `BpfObject`
    that made it with `BpfObject.ring_buffer()` closes it before itself.
    """

    def __init__(self, handlers: Mapping[Map | int, Handler] | None = None) -> None:
        self._ptr: Any = None
        self._callbacks: list[Any] = []  # the cffi callbacks libbpf calls: alive as long as we are
        self._error: BaseException | None = None
        self._closed = False
        self._on_close: Callable[[RingBuffer], None] | None = None
        self.names: list[str] = []
        for source, handler in (handlers or {}).items():
            self.add(source, handler)

    def __repr__(self) -> str:
        return f"<RingBuffer {', '.join(self.names)}{' closed' if self._closed else ''}>"

    def add(self, source: Map | int, handler: Handler) -> None:
        """Read ring-buffer map `source` (a loaded `Map`, or a map fd) and pass each sample to `handler`."""
        if self._closed:
            raise ClosedError("the ring buffer is closed")
        fd, name = (source.fd, source.name) if isinstance(source, Map) else (int(source), f"fd {source}")
        callback = ffi.callback("ring_buffer_sample_fn", self._make_sample(handler))
        lib = _ffi.lib()
        if self._ptr is None:
            opts = ffi.new("struct ring_buffer_opts *", {"sz": ffi.sizeof("struct ring_buffer_opts")})
            ptr = lib.ring_buffer__new(fd, callback, ffi.NULL, opts)
            if ptr == ffi.NULL:
                code = ffi.errno
                raise LibbpfError(f"cannot read ring buffer {name}: {describe_errno(code)}", errno=code)
            self._ptr = ptr
        else:
            ret = lib.ring_buffer__add(self._ptr, fd, callback, ffi.NULL)
            if ret < 0:
                raise LibbpfError(f"cannot read ring buffer {name}: {describe_errno(-ret)}", errno=-ret)
        self._callbacks.append(callback)
        self.names.append(name)

    def _make_sample(self, handler: Handler) -> Callable[[Any, Any, int], int]:
        buffer = ffi.buffer

        def on_sample(_ctx: Any, data: Any, size: int) -> int:
            try:
                handler(buffer(data, size)[:])
            except BaseException as exc:  # noqa: BLE001 - re-raised by poll()/consume()
                if self._error is None:
                    self._error = exc
                return _STOP
            return 0

        return on_sample

    def _live(self) -> Any:
        if self._closed:
            raise ClosedError("the ring buffer is closed")
        if self._ptr is None:
            raise LibbpfError("the ring buffer has no map to read")
        return self._ptr

    def poll(self, timeout_ms: int = 100) -> int:
        """Wait up to `timeout_ms` (-1: forever) for samples and handle them; returns how many.

        A signal interrupting the wait returns 0 (Python then runs its handler). Re-raises what
        a handler raised; other failures raise LibbpfError.
        """
        return self._finish(_ffi.lib().ring_buffer__poll(self._live(), timeout_ms))

    def consume(self) -> int:
        """Handle every sample available now, without waiting; returns how many."""
        return self._finish(_ffi.lib().ring_buffer__consume(self._live()))

    def _finish(self, ret: int) -> int:
        error, self._error = self._error, None
        if error is not None:
            raise error
        if ret < 0:
            if -ret == E.EINTR:
                return 0
            raise LibbpfError(f"reading ring buffers {', '.join(self.names)} failed: {describe_errno(-ret)}",
                              errno=-ret)
        return int(ret)

    @property
    def epoll_fd(self) -> int:
        """An fd that becomes readable when samples are waiting (for selectors); owned by the ring buffer."""
        return int(_ffi.lib().ring_buffer__epoll_fd(self._live()))

    @property
    def closed(self) -> bool:
        return self._closed

    def close(self) -> None:
        """Free the ring buffer (unmaps the rings; the maps themselves stay). Idempotent."""
        if self._closed:
            return
        self._closed = True
        ptr, self._ptr = self._ptr, None
        try:
            if ptr is not None:
                _ffi.lib().ring_buffer__free(ptr)
        finally:
            self._callbacks.clear()
            if self._on_close is not None:
                self._on_close(self)
                self._on_close = None

    def __enter__(self) -> RingBuffer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
