"""`RingBuffer`: read BPF ring-buffer maps (kernel >= 5.8) with one Python handler per map.

A handler is a callable that gets one sample as `bytes` (a copy: the ring memory is reused
after the callback returns), or a `BatchHandler`, whose `handle_batch` gets a list of the
samples read since the last call: the per-sample callback then only copies, and the handler
runs once libbpf has returned (or every `BATCH_MAX` samples), which is how a fast producer
is kept up with. An exception raised by a handler, including KeyboardInterrupt, stops the
current `poll()`/`consume()` and is re-raised from it once libbpf has returned; the sample
that raised is consumed (for a batch: the whole batch). Not thread-safe: poll from one thread.

A batch handler may also offer a `record_reader()`: then, on x86-64, its map is not read by
libbpf but in place (`bee.libbpf.ringmem.DirectRing`): bee maps the ring's pages as libbpf does, and the reader
gets whole runs of records of one sample size straight from the ring memory, so one
`struct.iter_unpack` splits and decodes them with no call per sample. Records of another size
or discarded ones are handled one by one (`handle_batch`); a record still being written stops
the read until it is committed. x86-64 only: its loads are not reordered with other loads nor
stores with earlier loads, which is the acquire/release order the ring needs (libbpf uses
explicit barriers, which Python cannot express); elsewhere libbpf reads every map.
"""

from __future__ import annotations

import contextlib
import errno as E
import os
import select
import threading
from collections.abc import Callable, Mapping

from bee.libbpf import _ffi
from bee.libbpf.errors import ClosedError, LibbpfError, describe_errno
from bee.libbpf.map import Map
from bee.libbpf.ringmem import DIRECT_READ, DirectRing, FullWatch, RecordReader, RingPages

TYPE_CHECKING = False  # typing's flag without importing typing: ~3 ms of bee run (docs/dev/startup.md)
if TYPE_CHECKING:
    from typing import Any, Protocol

    class BatchHandler(Protocol):
        """Takes the samples of one read at once, oldest first (a list it may keep). Any handler
        with a `handle_batch` method is one."""

        def handle_batch(self, samples: list[bytes]) -> object: ...

    SampleHandler = Callable[[bytes], object]
    Handler = SampleHandler | BatchHandler

ffi = _ffi.ffi


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
        self._direct: list[DirectRing] = []  # maps read in place, not by libbpf
        self._watches: dict[str, FullWatch] = {}  # maps libbpf reads, by name: how often found full
        self._epoll: select.epoll | None = None  # waits on the direct maps (and libbpf's epoll fd)
        self._wake: int | None = None  # an eventfd in _epoll: `wake()` makes it readable
        self._wake_lock = threading.Lock()  # `wake()` never writes to a closed (maybe reused) fd
        self._full = False  # a batch reached BATCH_MAX: libbpf was stopped to hand it over
        self._closed = False
        self._on_close: Callable[[RingBuffer], None] | None = None
        self.names: list[str] = []
        for source, handler in (handlers or {}).items():
            self.add(source, handler)

    def __repr__(self) -> str:
        return f"<RingBuffer {', '.join(self.names)}{' closed' if self._closed else ''}>"

    def add(self, source: Map | int, handler: Handler, pages: RingPages | None = None) -> None:
        """Read ring-buffer map `source` (a loaded `Map`, or a map fd) and pass its samples to `handler`.

        `pages`, the map's pages mapped ahead, become this ring buffer's (closed here when the map
        is read by libbpf after all)."""
        if self._closed:
            if pages is not None:
                pages.close()
            raise ClosedError("the ring buffer is closed")
        fd, name = (source.fd, source.name) if isinstance(source, Map) else (int(source), f"fd {source}")
        reader = getattr(handler, "record_reader", None)
        reader = reader() if reader is not None and DIRECT_READ and isinstance(source, Map) else None
        if reader is not None:
            self._add_direct(source, handler, reader, pages)  # type: ignore[arg-type]
            return
        if pages is not None:
            pages.close()
        watch = None
        if isinstance(source, Map):
            try:
                watch = FullWatch(fd, source.max_entries)
            except OSError as exc:  # only the count of full reads is missing then; libbpf says if it cannot read
                _ffi.logger.debug("cannot watch how full ring buffer %s is: %s", name, exc)
        try:
            self._add_libbpf(fd, name, handler, watch)
        except BaseException:
            if watch is not None:
                watch.close()
            raise
        if watch is not None:
            self._watches[name] = watch

    def _add_libbpf(self, fd: int, name: str, handler: Handler, watch: FullWatch | None) -> None:
        if hasattr(handler, "handle_batch"):  # a BatchHandler
            on_sample = self._make_batch_sample(handler, watch)
        else:
            on_sample = self._make_sample(handler, watch)
        callback = ffi.callback("ring_buffer_sample_fn", on_sample, onerror=self._on_callback_error)
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
        if self._epoll is not None and len(self._callbacks) == 1:  # libbpf's ring was just made
            self._epoll.register(int(lib.ring_buffer__epoll_fd(self._ptr)), select.EPOLLIN)

    def _add_direct(self, source: Map, handler: BatchHandler, reader: RecordReader,
                    pages: RingPages | None) -> None:
        try:
            direct = DirectRing(pages or RingPages(source.fd, source.max_entries), source.name, handler, reader)
        except OSError as exc:
            raise LibbpfError(f"cannot read ring buffer {source.name}: {describe_errno(exc.errno or 0)}",
                              errno=exc.errno or 0) from exc
        if self._epoll is None:
            self._epoll = select.epoll()
            self._wake = os.eventfd(0, os.EFD_NONBLOCK | os.EFD_CLOEXEC)
            self._epoll.register(self._wake, select.EPOLLIN)
            if self._ptr is not None:
                self._epoll.register(int(_ffi.lib().ring_buffer__epoll_fd(self._ptr)), select.EPOLLIN)
        self._epoll.register(source.fd, select.EPOLLIN)
        self._direct.append(direct)
        self.names.append(source.name)

    def _on_callback_error(self, _type: type, error: BaseException, _traceback: object) -> int:
        """An exception a sample callback raised outside its own `try`: above all a Ctrl-C whose Python
        handler runs as the next callback starts (cffi would print it and go on). Kept for
        poll()/consume() to re-raise, and libbpf stopped, as for a handler's exception."""
        if self._error is None:
            self._error = error
        return _STOP

    def _make_sample(self, handler: SampleHandler, watch: FullWatch | None) -> Callable[[Any, Any, int], int]:
        buffer = ffi.buffer

        def on_sample(_ctx: Any, data: Any, size: int) -> int:
            if watch is not None and watch.first:
                watch.check(size)
            try:
                handler(buffer(data, size)[:])
            except BaseException as exc:  # noqa: BLE001 - re-raised by poll()/consume()
                if self._error is None:
                    self._error = exc
                return _STOP
            return 0

        return on_sample

    def _make_batch_sample(self, handler: BatchHandler, watch: FullWatch | None) -> Callable[[Any, Any, int], int]:
        buffer = ffi.buffer
        samples: list[bytes] = []
        self._batches.append((samples, handler))
        append = samples.append

        def on_sample(_ctx: Any, data: Any, size: int) -> int:
            if watch is not None and watch.first:
                watch.check(size)
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

    def _drain_direct(self) -> int:
        if self._closed:
            raise ClosedError("the ring buffer is closed")
        return sum(direct.drain(BATCH_MAX) for direct in self._direct)

    def poll(self, timeout_ms: int = 100) -> int:
        """Wait up to `timeout_ms` (-1: forever) for samples and handle them; returns how many.

        A signal interrupting libbpf's wait returns 0 (Python then runs its handler); when a map is
        read in place Python waits on after the handler, unless it calls `wake()`. A batch reaching
        `BATCH_MAX` ends the call early (the rest waits for the next one). Re-raises what a handler
        raised; other failures raise LibbpfError.
        """
        if not self._direct:
            ptr = self._live()
            self._arm_watches()
            return self._finish(_ffi.lib().ring_buffer__poll(ptr, timeout_ms))
        handled = self._drain_direct()
        if not handled:
            assert self._epoll is not None and self._wake is not None
            ready = self._epoll.poll(timeout_ms / 1000 if timeout_ms >= 0 else -1)
            if any(fd == self._wake for fd, _ in ready):
                with contextlib.suppress(BlockingIOError):
                    os.eventfd_read(self._wake)
            handled = self._drain_direct()
        if self._ptr is not None:
            self._arm_watches()
            handled += self._finish(_ffi.lib().ring_buffer__consume(self._ptr))
        return handled

    def consume(self) -> int:
        """Handle every sample available now, without waiting; returns how many."""
        if self._direct:
            total = 0
            while True:
                handled = self._drain_direct()
                total += handled
                if not handled:
                    break
            if self._ptr is None:
                return total
            return total + self._consume_libbpf()
        return self._consume_libbpf()

    def _consume_libbpf(self) -> int:
        lib, ptr = _ffi.lib(), self._live()
        total = 0
        while True:
            self._arm_watches()
            ret = lib.ring_buffer__consume(ptr)
            if not self._full:
                return total + self._finish(ret)
            total += self._finish(ret)

    def _arm_watches(self) -> None:
        for watch in self._watches.values():
            watch.first = True

    def full_counts(self) -> dict[str, int]:
        """How many reads of each map (by name) found it with no room for one more record the size
        of the first one read: while it is so, the program's reservations fail and events are lost
        in the kernel, where nothing counts them. Maps given as a bare fd, and maps libbpf reads
        whose positions could not be mapped, are left out. Still answers once closed."""
        counts = {direct.name: direct.full for direct in self._direct}
        counts.update((name, watch.count) for name, watch in self._watches.items())
        return counts

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

    def wake(self) -> None:
        """End the wait of a `poll()` now or of the next one, from any thread or a signal handler.

        Immediate when the ring buffer reads a map in place (Python's own wait goes on after a
        signal, so a handler that wants the loop to stop calls this); a wait inside libbpf ends at
        its timeout, or at once on a signal. A no-op once closed."""
        with self._wake_lock:
            if self._wake is not None and not self._closed:
                os.eventfd_write(self._wake, 1)

    @property
    def epoll_fd(self) -> int:
        """An fd that becomes readable when samples are waiting (for selectors); owned by the ring buffer."""
        if self._epoll is not None:
            return self._epoll.fileno()
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
            for direct in self._direct:
                direct.close()
            for watch in self._watches.values():
                watch.close()
            if self._epoll is not None:
                self._epoll.close()
                self._epoll = None
            with self._wake_lock:
                if self._wake is not None:
                    os.close(self._wake)
                    self._wake = None
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
