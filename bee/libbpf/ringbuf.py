"""`RingBuffer`: read BPF ring-buffer maps (kernel >= 5.8) with one Python handler per map.

A handler is a callable that gets one sample as `bytes` (a copy: the ring memory is reused
after the callback returns), or a `BatchHandler`, whose `handle_batch` gets a list of the
samples read since the last call: the per-sample callback then only copies, and the handler
runs once libbpf has returned (or every `BATCH_MAX` samples), which is how a fast producer
is kept up with. An exception raised by a handler, including KeyboardInterrupt, stops the
current `poll()`/`consume()` and is re-raised from it once libbpf has returned; the sample
that raised is consumed (for a batch: the whole batch). Not thread-safe: poll from one thread.
"""

from __future__ import annotations

import errno as E
from collections.abc import Callable, Mapping
from typing import Any, Protocol, runtime_checkable

from bee.libbpf import _ffi
from bee.libbpf.errors import ClosedError, LibbpfError, describe_errno
from bee.libbpf.map import Map

ffi = _ffi.ffi


@runtime_checkable
class BatchHandler(Protocol):
    """Takes the samples of one read at once, oldest first (a list it may keep)."""

    def handle_batch(self, samples: list[bytes]) -> object: ...


Handler = Callable[[bytes], object] | BatchHandler

# libbpf stops processing and returns a callback's value only when it is negative.
_STOP = -1
#: Samples a batch handler gets at most per call; a full batch pauses libbpf's loop to hand it over.
BATCH_MAX = 8192


class RingBuffer:
    """A libbpf `struct ring_buffer` over one or more RINGBUF maps, freed by `close()`.

    The maps (or their fds) must stay open while the ring buffer lives: a `BpfObject`
    that made it with `BpfObject.ring_buffer()` closes it before itself.
    """

    def __init__(self, handlers: Mapping[Map | int, Handler] | None = None) -> None:
        self._ptr: Any = None
        self._callbacks: list[Any] = []  # the cffi callbacks libbpf calls: alive as long as we are
        self._error: BaseException | None = None
        self._batches: list[tuple[list[bytes], BatchHandler]] = []  # (samples read, their handler)
        self._full = False  # a batch reached BATCH_MAX: libbpf was stopped to hand it over
        self._closed = False
        self._on_close: Callable[[RingBuffer], None] | None = None
        self.names: list[str] = []
        for source, handler in (handlers or {}).items():
            self.add(source, handler)

    def __repr__(self) -> str:
        return f"<RingBuffer {', '.join(self.names)}{' closed' if self._closed else ''}>"

    def add(self, source: Map | int, handler: Handler) -> None:
        """Read ring-buffer map `source` (a loaded `Map`, or a map fd) and pass its samples to `handler`."""
        if self._closed:
            raise ClosedError("the ring buffer is closed")
        fd, name = (source.fd, source.name) if isinstance(source, Map) else (int(source), f"fd {source}")
        if isinstance(handler, BatchHandler):
            on_sample = self._make_batch_sample(handler)
        else:
            on_sample = self._make_sample(handler)
        callback = ffi.callback("ring_buffer_sample_fn", on_sample)
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

    def _make_batch_sample(self, handler: BatchHandler) -> Callable[[Any, Any, int], int]:
        buffer = ffi.buffer
        samples: list[bytes] = []
        self._batches.append((samples, handler))
        append = samples.append

        def on_sample(_ctx: Any, data: Any, size: int) -> int:
            append(buffer(data, size)[:])
            if len(samples) < BATCH_MAX:
                return 0
            self._full = True
            return _STOP

        return on_sample

    def _hand_over(self) -> int:
        """Pass every non-empty batch to its handler (emptied first); returns how many samples."""
        total = 0
        for samples, handler in self._batches:
            if samples:
                batch = samples[:]
                samples.clear()
                total += len(batch)
                try:
                    handler.handle_batch(batch)
                except BaseException as exc:  # noqa: BLE001 - re-raised by poll()/consume()
                    if self._error is None:
                        self._error = exc
        return total

    def _live(self) -> Any:
        if self._closed:
            raise ClosedError("the ring buffer is closed")
        if self._ptr is None:
            raise LibbpfError("the ring buffer has no map to read")
        return self._ptr

    def poll(self, timeout_ms: int = 100) -> int:
        """Wait up to `timeout_ms` (-1: forever) for samples and handle them; returns how many.

        A signal interrupting the wait returns 0 (Python then runs its handler). A batch reaching
        `BATCH_MAX` ends the call early (the rest waits for the next one). Re-raises what a handler
        raised; other failures raise LibbpfError.
        """
        return self._finish(_ffi.lib().ring_buffer__poll(self._live(), timeout_ms))

    def consume(self) -> int:
        """Handle every sample available now, without waiting; returns how many."""
        lib, ptr = _ffi.lib(), self._live()
        total = 0
        while True:
            ret = lib.ring_buffer__consume(ptr)
            if not self._full:
                return total + self._finish(ret)
            total += self._finish(ret)

    def _finish(self, ret: int) -> int:
        """Hand batches over, re-raise a handler's exception, turn libbpf's result into a count."""
        full, self._full = self._full, False
        handed = self._hand_over() if self._batches else 0
        error, self._error = self._error, None
        if error is not None:
            raise error
        if full:  # libbpf returned our own stop; its count of the other samples is lost, ours is not
            return handed
        if ret < 0:
            if -ret == E.EINTR:
                return handed
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
            self._batches.clear()
            if self._on_close is not None:
                self._on_close(self)
                self._on_close = None

    def __enter__(self) -> RingBuffer:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()
