"""Readers: the threads that take data out of the kernel and hand it to the outputs.

- `HashPoller` reads every tracked hash and array map each `interval` seconds on the `bee-map-poller`
  thread and gives each output all its entries at once (a per-CPU map's values split by CPU).
- `RingLoop` waits on ring buffers and reads them as events arrive, on the thread that calls `run()`
  (the main thread when logging, a worker thread under the interactive view). One ring buffer is
  polled directly; several (several programs) are waited on together through their epoll fds.

Both stop when the run's stop event is set; `RingLoop.wake()` ends a wait at once. `replace()` on
either changes what it reads while it runs (a runner config reload). A read that fails
is counted (`bee_map_read_errors_total`, `bee_ringbuf_poll_errors_total`), logged, and retried.
"""

from __future__ import annotations

import contextlib
import os
import select
import threading
from collections.abc import Sequence

from bee.errors import BeeError
from bee.libbpf.errors import LibbpfError
from bee.log import get as get_logger
from bee.run.outputs.hashmap import HashOutput
from bee.sinks.metrics import MetricsRegistry

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing: see docs/dev/startup.md
if TYPE_CHECKING:
    from bee.libbpf.map import Map
    from bee.libbpf.ringbuf import RingBuffer

log = get_logger("bee.run")

#: Longest wait of a ring-buffer poll: how late a stop without `wake()` is seen, and how often
#: events submitted without a wake-up (BPF_RB_NO_WAKEUP) are read.
POLL_TIMEOUT_MS = 100
#: A read that found fewer events than this is followed by a pause of `BATCH_PAUSE_S` before the next
#: one. What it buys: under a fast producer, the kernel wakes the reader once the ring was empty, so
#: without a pause every wake-up reads a handful of events and the per-read cost (the wake-up, the
#: epoll call, the read set-up) is paid every few events, by bee and by the producer's CPU that sends
#: the wake-up; after a pause one read takes hundreds of events. Events wait at most that long more.
SMALL_BATCH = 256
BATCH_PAUSE_S = 0.002


class HashPoller:
    """Reads `maps` (each with its output) every `interval` seconds until `stop` is set."""

    def __init__(self, maps: Sequence[tuple[Map, HashOutput]], interval: float, stop: threading.Event,
                 registry: MetricsRegistry) -> None:
        self._maps, self.interval, self._stop, self._registry = list(maps), interval, stop, registry
        self._lock = threading.Lock()  # held for a whole pass: `replace()` returns once no old map is read
        self._thread = threading.Thread(target=self._poll, name="bee-map-poller", daemon=True)

    def start(self) -> HashPoller:
        """Start the poller thread (the first read happens at once); returns self."""
        self._thread.start()
        return self

    def join(self) -> None:
        """Wait for the thread to end (after `stop` is set); a no-op if it never started."""
        if self._thread.ident is not None:
            self._thread.join()

    def replace(self, maps: Sequence[tuple[Map, HashOutput]]) -> None:
        """Read `maps` from the next pass on (from any thread). When it returns, no map left out is being
        read or will be: those may be closed."""
        with self._lock:
            self._maps = list(maps)

    def _poll(self) -> None:
        while True:
            with self._lock:
                for bpf_map, output in self._maps:
                    try:
                        output.update(bpf_map.per_cpu_items() if output.per_cpu else bpf_map.items())
                    except BeeError as exc:
                        self._registry.map_read_errors.inc(output.error_labels)
                        log.warning("reading map %s failed: %s", output.name, exc)
            if self._stop.wait(self.interval):
                return


class RingLoop:
    """Reads `rings` as events arrive until `stop` is set; with no ring, just waits for the stop.

    `replace()` changes the rings it reads, from another thread, between two reads."""

    def __init__(self, rings: Sequence[RingBuffer], stop: threading.Event, registry: MetricsRegistry) -> None:
        self._stop, self._registry = stop, registry
        self._rings: list[RingBuffer] = []
        self._epoll: select.epoll | None = None
        self._wake_fd: int | None = None
        self._fd_lock = threading.Lock()  # `wake()` never writes to an eventfd `_close()` has closed
        self._next: list[RingBuffer] | None = None  # rings `replace()` asked for, taken by the loop's thread
        self._replaced = threading.Condition()
        self._use(list(rings))

    def _use(self, rings: list[RingBuffer]) -> None:
        """Read `rings` from now on: one directly, several through an epoll over their epoll fds."""
        self._close()
        self._rings = rings
        if len(rings) > 1:
            with self._fd_lock:
                self._epoll = select.epoll()
                self._wake_fd = os.eventfd(0, os.EFD_NONBLOCK | os.EFD_CLOEXEC)
                self._epoll.register(self._wake_fd, select.EPOLLIN)
                for ring in rings:
                    self._epoll.register(ring.epoll_fd, select.EPOLLIN)

    def replace(self, rings: Sequence[RingBuffer]) -> bool:
        """Read `rings` instead (from a thread other than the loop's). Returns once the loop took them,
        True; after that no ring left out is read, so it may be freed. False if the run stopped first
        (the loop then reads nothing any more)."""
        with self._replaced:
            self._next = list(rings)
        self.wake()
        with self._replaced:
            while self._next is not None:
                if self._stop.is_set():
                    return False
                self._replaced.wait(POLL_TIMEOUT_MS / 1000)
        return True

    def wake(self) -> None:
        """End the current wait now (from any thread or a signal handler)."""
        if self._fd_lock.acquire(blocking=False):  # not blocking: a signal handler may run inside `_close()`
            try:
                if self._wake_fd is not None:
                    os.eventfd_write(self._wake_fd, 1)
            finally:
                self._fd_lock.release()
        for ring in self._rings:  # a list `_use` replaces whole: never one being changed
            ring.wake()

    def run(self) -> None:
        """Read until `stop` is set; closes what the loop itself opened when it returns."""
        try:
            while not self._stop.is_set():
                if self._next is not None:  # one attribute test a read: the cost of `replace()` here
                    self._take_next()
                try:
                    self._read_once()
                except LibbpfError as exc:  # a handler's own exception ends the run
                    self._registry.ringbuf_poll_errors.inc(())
                    log.warning("ring buffer poll failed: %s", exc)
                    self._stop.wait(POLL_TIMEOUT_MS / 1000)
        finally:
            self._close()
            with self._replaced:
                self._replaced.notify_all()

    def _take_next(self) -> None:
        with self._replaced:
            rings, self._next = self._next, None
            assert rings is not None
            self._use(rings)
            self._replaced.notify_all()

    def _read_once(self) -> None:
        if not self._rings:
            self._stop.wait(POLL_TIMEOUT_MS / 1000)
        elif self._epoll is None:
            ring = self._rings[0]
            handled = ring.poll(POLL_TIMEOUT_MS)
            if handled == 0:
                ring.consume()  # nothing woke us: read what programs submitted with BPF_RB_NO_WAKEUP
            elif handled < SMALL_BATCH:
                self._stop.wait(BATCH_PAUSE_S)
        else:
            ready = {fd for fd, _ in self._epoll.poll(POLL_TIMEOUT_MS / 1000)}
            if self._wake_fd in ready:
                with contextlib.suppress(BlockingIOError):
                    os.eventfd_read(self._wake_fd)
            handled = 0
            for ring in self._rings:  # on a timeout every ring is read: BPF_RB_NO_WAKEUP submissions
                if not ready or ring.epoll_fd in ready:
                    handled += ring.consume()
            if 0 < handled < SMALL_BATCH:
                self._stop.wait(BATCH_PAUSE_S)

    def _close(self) -> None:
        with self._fd_lock:
            if self._epoll is not None:
                self._epoll.close()
                self._epoll = None
            if self._wake_fd is not None:
                os.close(self._wake_fd)
                self._wake_fd = None
