"""Ring buffers: exact samples from real tracepoints, many maps, 10,000 events, errors in handlers."""

from __future__ import annotations

import os
import platform
import signal
import struct
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from bee.libbpf import BpfObject, LibbpfError, RingBuffer
from tests.helpers import require

EVENT = struct.Struct("=IIQ16s")  # struct event of lb_ringbuf.c
CALL = struct.Struct("=II")  # struct call
MAGIC = 0xFEEDBEEFCAFEF00D
GETPPID = {"x86_64": 110, "aarch64": 173}


@pytest.fixture
def traced(root: None, open_object: Callable[..., BpfObject]) -> Iterator[BpfObject]:
    """lb_ringbuf loaded and attached, reporting this process's openat(2) and getppid(2) calls."""
    obj = open_object("lb_ringbuf")
    obj.load()
    for program in obj.programs.values():
        program.attach()
    nr = GETPPID.get(platform.machine(), 0)
    obj.map("lb_config").update(struct.pack("I", 0), CALL.pack(os.getpid(), nr))
    yield obj
    obj.map("lb_config").update(struct.pack("I", 0), CALL.pack(0, 0))


def _open_files(count: int) -> None:
    for _ in range(count):
        os.close(os.open("/dev/null", os.O_RDONLY))


def _drain(ring: RingBuffer, done: Callable[[], bool], seconds: float = 10) -> None:
    deadline = time.monotonic() + seconds
    while not done() and time.monotonic() < deadline:
        ring.poll(50)


def test_samples_are_what_the_program_wrote(traced: BpfObject) -> None:
    events: list[bytes] = []
    ring = traced.ring_buffer({"events": events.append})
    _open_files(3)
    _drain(ring, lambda: len(events) >= 3)
    comm = Path(f"/proc/self/task/{threading.get_native_id()}/comm").read_text().strip().encode()
    decoded = [EVENT.unpack(sample) for sample in events]
    assert [type(sample) for sample in events] == [bytes] * 3
    assert decoded == [(os.getpid(), seq, MAGIC, comm.ljust(16, b"\0")) for seq in range(3)]


def test_one_ring_buffer_reads_several_maps(traced: BpfObject) -> None:
    if platform.machine() not in GETPPID:
        pytest.skip(f"no getppid syscall number for {platform.machine()}")  # not a CI architecture
    events: list[bytes] = []
    calls: list[bytes] = []
    ring = traced.ring_buffer({"events": events.append, traced.map("calls"): calls.append})
    assert ring.names == ["events", "calls"]
    os.getppid()
    os.getppid()
    _open_files(1)
    _drain(ring, lambda: len(calls) >= 2 and len(events) >= 1)
    assert [CALL.unpack(c) for c in calls] == [(os.getpid(), GETPPID[platform.machine()])] * 2
    assert [EVENT.unpack(e)[1] for e in events] == [0]
    assert ring.epoll_fd >= 0


def test_ten_thousand_events_are_all_delivered(traced: BpfObject) -> None:
    seqs: list[int] = []
    ring = traced.ring_buffer({"events": lambda sample: seqs.append(EVENT.unpack(sample)[1])})
    _open_files(10_000)  # 10,000 40-byte records fit in the 1 MiB ring
    _drain(ring, lambda: len(seqs) >= 10_000)
    assert ring.consume() == 0
    assert seqs == list(range(10_000))


def test_an_exception_in_a_handler_is_raised_by_poll(traced: BpfObject) -> None:
    seen: list[int] = []

    def handler(sample: bytes) -> None:
        seen.append(EVENT.unpack(sample)[1])
        if seen[-1] == 1:
            raise ValueError("bad sample")

    ring = traced.ring_buffer({"events": handler})
    _open_files(5)
    time.sleep(0.05)
    with pytest.raises(ValueError, match="bad sample"):
        ring.consume()
    assert seen == [0, 1]  # stopped at the failing sample, which is consumed
    assert ring.consume() == 3
    assert seen == [0, 1, 2, 3, 4]


def test_keyboard_interrupt_in_a_handler_stops_poll(traced: BpfObject) -> None:
    def handler(sample: bytes) -> None:
        raise KeyboardInterrupt

    ring = traced.ring_buffer({"events": handler})
    _open_files(2)
    with pytest.raises(KeyboardInterrupt):
        ring.poll(1000)


def test_ctrl_c_arriving_during_a_handler_is_not_swallowed(traced: BpfObject) -> None:
    count = [0]

    def handler(sample: bytes) -> None:
        count[0] += 1
        signal.raise_signal(signal.SIGINT)  # as if Ctrl-C came while Python ran the handler

    ring = traced.ring_buffer({"events": handler})
    _open_files(3)
    # Python's own Ctrl-C handler, whatever this process inherited (started in the background by a
    # non-interactive shell, SIGINT is ignored and Python then installs none)
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        ring.poll(1000)
        raised = False
    except KeyboardInterrupt:
        raised = True
    finally:
        signal.signal(signal.SIGINT, previous)
    # both at once, so that a failure says whether the samples came at all
    assert {"raised": raised, "handled": count[0]} == {"raised": True, "handled": 1}


def test_a_signal_interrupting_the_wait_is_not_an_error(traced: BpfObject) -> None:
    ring = traced.ring_buffer({"events": lambda sample: None})
    fired: list[int] = []
    previous = signal.signal(signal.SIGALRM, lambda signum, frame: fired.append(signum))
    try:
        signal.setitimer(signal.ITIMER_REAL, 0.05)
        started = time.monotonic()
        assert ring.poll(5000) == 0
        assert time.monotonic() - started < 4
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)
    assert fired == [signal.SIGALRM]


def test_a_standalone_ring_buffer_over_a_map_fd(traced: BpfObject) -> None:
    events: list[bytes] = []
    with RingBuffer({traced.map("events").fd: events.append}) as ring:
        _open_files(1)
        _drain(ring, lambda: len(events) >= 1)
        assert len(events) == 1
    assert ring.closed
    ring.close()


def test_a_map_that_is_no_ring_buffer_is_refused(traced: BpfObject) -> None:
    with pytest.raises(LibbpfError, match="cannot read ring buffer lb_config: Invalid argument"):
        traced.ring_buffer({"lb_config": lambda sample: None})
    with pytest.raises(LibbpfError, match="the ring buffer has no map to read"):
        RingBuffer().poll(0)


class _Batches:
    """A batch handler that keeps each batch it gets (`handle_batch`), optionally failing once."""

    def __init__(self, fail_at: int | None = None) -> None:
        self.batches: list[list[bytes]] = []
        self.fail_at = fail_at

    def handle_batch(self, samples: list[bytes]) -> None:
        self.batches.append(samples)
        if self.fail_at is not None and len(self.batches) == self.fail_at:
            raise ValueError("bad batch")

    @property
    def seqs(self) -> list[int]:
        return [EVENT.unpack(sample)[1] for batch in self.batches for sample in batch]


def test_a_batch_handler_gets_every_sample_in_order_in_bounded_batches(
        traced: BpfObject, monkeypatch: pytest.MonkeyPatch) -> None:
    from bee.libbpf import ringbuf

    monkeypatch.setattr(ringbuf, "BATCH_MAX", 100)
    handler = _Batches()
    ring = traced.ring_buffer({"events": handler})
    _open_files(1_050)
    time.sleep(0.05)
    counts = [ring.consume()]
    _drain(ring, lambda: len(handler.seqs) >= 1_050)
    assert handler.seqs == list(range(1_050))
    assert counts == [1_050]  # consume() reads on past each full batch
    assert max(len(b) for b in handler.batches) == 100
    assert len(handler.batches) == 11
    assert all(type(s) is bytes for b in handler.batches for s in b)


def test_poll_hands_over_a_full_batch_and_stops(traced: BpfObject, monkeypatch: pytest.MonkeyPatch) -> None:
    from bee.libbpf import ringbuf

    monkeypatch.setattr(ringbuf, "BATCH_MAX", 100)
    handler = _Batches()
    ring = traced.ring_buffer({"events": handler})
    _open_files(250)
    time.sleep(0.05)
    assert ring.poll(1000) == 100
    assert ring.poll(1000) == 100
    assert ring.poll(1000) == 50
    assert handler.seqs == list(range(250))


@pytest.mark.parametrize("reading", ["batches", "in place"])
def test_batch_or_in_place_and_per_sample_handlers_share_a_ring_buffer(traced: BpfObject, reading: str) -> None:
    from bee.libbpf import ringbuf

    if platform.machine() not in GETPPID:
        pytest.skip(f"no getppid syscall number for {platform.machine()}")  # not a CI architecture
    require(reading == "batches" or ringbuf.DIRECT_READ, "in-place reading is for x86-64")
    handler = _Batches() if reading == "batches" else _InPlace()
    calls: list[bytes] = []
    ring = traced.ring_buffer({"events": handler, "calls": calls.append})
    _open_files(3)
    os.getppid()
    _drain(ring, lambda: len(handler.seqs) >= 3 and len(calls) >= 1)
    assert handler.seqs == [0, 1, 2]
    assert [CALL.unpack(c) for c in calls] == [(os.getpid(), GETPPID[platform.machine()])]
    ring.close()
    assert ring.closed


def test_an_exception_in_a_batch_handler_is_raised_and_the_batch_consumed(
        traced: BpfObject, monkeypatch: pytest.MonkeyPatch) -> None:
    from bee.libbpf import ringbuf

    monkeypatch.setattr(ringbuf, "BATCH_MAX", 10)
    handler = _Batches(fail_at=2)
    ring = traced.ring_buffer({"events": handler})
    _open_files(25)
    time.sleep(0.05)
    with pytest.raises(ValueError, match="bad batch"):
        ring.consume()
    assert handler.seqs == list(range(20))  # the failing batch was handed over whole, and consumed
    assert ring.consume() == 5
    assert handler.seqs == list(range(25))




class _InPlace(_Batches):
    """Reads `events` records in place (`record_reader`), like bee's print_ outputs; samples of
    another size come one by one through `handle_batch`."""

    def __init__(self, size: int = EVENT.size, fail_once: bool = False) -> None:
        super().__init__()
        self.size = size
        self.record = struct.Struct(f"=I4x{size}s{-size % 8}x")  # header, sample, padding to 8 bytes
        self.in_place: list[int] = []
        self.fail_once = fail_once

    def record_reader(self) -> tuple[int, Callable[[memoryview], int]]:
        return self.size, self.read

    @property
    def seqs(self) -> list[int]:
        return self.in_place + super().seqs

    def read(self, region: memoryview) -> int:
        if self.fail_once:
            self.fail_once = False
            raise ValueError("bad region")
        done = 0
        for length, sample in self.record.iter_unpack(region):
            if length != self.size:
                break
            self.in_place.append(EVENT.unpack(sample)[1])
            done += 1
        return done


def test_records_read_in_place_arrive_in_order_across_the_ring_wrap(traced: BpfObject) -> None:
    from bee.libbpf import ringbuf

    require(ringbuf.DIRECT_READ, "in-place reading is for x86-64")  # CI runs x86-64
    handler = _InPlace()
    ring = traced.ring_buffer({"events": handler})
    assert ring.names == ["events"] and ring.epoll_fd >= 0
    for round_ in range(1, 5):  # 4 x 10,000 x 40 bytes: the 1 MiB ring wraps around
        expected = 10_000 * round_
        _open_files(10_000)
        _drain(ring, lambda expected=expected: len(handler.in_place) >= expected)
    assert handler.in_place == list(range(40_000))
    assert handler.batches == []  # every record had the declared size
    assert ring.consume() == 0


def test_records_of_another_size_come_one_by_one(traced: BpfObject) -> None:
    from bee.libbpf import ringbuf

    require(ringbuf.DIRECT_READ, "in-place reading is for x86-64")
    handler = _InPlace(size=EVENT.size - 8)  # the program submits 32-byte samples, not 24
    ring = traced.ring_buffer({"events": handler})
    _open_files(300)
    _drain(ring, lambda: len(handler.seqs) >= 300)
    assert handler.in_place == []
    assert handler.seqs == list(range(300))
    assert {len(b) for b in handler.batches} == {1}  # one sample per call, as bytes of its own size
    assert {len(s) for b in handler.batches for s in b} == {EVENT.size}


def test_a_failing_in_place_reader_leaves_its_records_unread(traced: BpfObject) -> None:
    from bee.libbpf import ringbuf

    require(ringbuf.DIRECT_READ, "in-place reading is for x86-64")
    handler = _InPlace(fail_once=True)
    ring = traced.ring_buffer({"events": handler})
    _open_files(5)
    time.sleep(0.05)
    with pytest.raises(ValueError, match="bad region"):
        ring.consume()
    assert ring.consume() == 5
    assert handler.in_place[:5] == [0, 1, 2, 3, 4]  # read in place (more: this test opens /proc/self/maps)


def test_without_in_place_reading_libbpf_reads_the_same(traced: BpfObject, monkeypatch: pytest.MonkeyPatch) -> None:
    from bee.libbpf import ringbuf

    monkeypatch.setattr(ringbuf, "DIRECT_READ", False)  # as on other architectures
    handler = _InPlace()
    ring = traced.ring_buffer({"events": handler})
    _open_files(100)
    _drain(ring, lambda: len(handler.seqs) >= 100)
    assert handler.in_place == []
    assert handler.seqs == list(range(100))


def _map_mappings() -> int:
    """How many mappings of BPF maps this process has (every map shares the anon_inode:bpf-map inode)."""
    with open("/proc/self/maps") as maps:
        return sum(1 for line in maps if "anon_inode:bpf-map" in line)


def test_pages_mapped_ahead_are_read_in_place_and_closed_with_the_ring(traced: BpfObject) -> None:
    from bee.libbpf import ringbuf

    require(ringbuf.DIRECT_READ, "in-place reading is for x86-64")
    before = _map_mappings()
    traced.map_rings(["events", "calls"])
    assert _map_mappings() == before + 4  # per map: the consumer page; the producer page and data twice
    handler = _InPlace()
    ring = traced.ring_buffer({"events": handler})
    assert _map_mappings() == before + 4  # the same pages, not mapped again
    _open_files(5)
    _drain(ring, lambda: len(handler.seqs) >= 5)
    assert handler.in_place[:5] == [0, 1, 2, 3, 4]  # read in place (more: this test opens /proc/self/maps)
    ring.close()
    assert _map_mappings() == before + 2  # calls' pages stay with the object until it closes


def test_pages_mapped_ahead_and_not_read_in_place_are_released(root: None,
                                                               open_object: Callable[..., BpfObject]) -> None:
    from bee.libbpf import ringbuf

    require(ringbuf.DIRECT_READ, "in-place reading is for x86-64")
    obj = open_object("lb_ringbuf")
    obj.load()
    before = _map_mappings()
    obj.map_rings(["events", "calls", "lb_config"])  # lb_config is no ring buffer: nothing to map
    assert _map_mappings() == before + 4
    obj.ring_buffer({"calls": lambda sample: None})  # read by libbpf, which maps its own pages instead
    assert _map_mappings() == before + 6  # and two read-only pages to see how full it is
    obj.close()  # events' pages were never used: the object releases them, as libbpf's ring its own
    assert _map_mappings() == before


def test_wake_ends_a_wait_on_a_map_read_in_place(traced: BpfObject) -> None:
    from bee.libbpf import ringbuf

    require(ringbuf.DIRECT_READ, "in-place reading is for x86-64")
    traced.map("lb_config").update(struct.pack("I", 0), CALL.pack(0, 0))  # no events: only a wake ends a wait
    ring = traced.ring_buffer({"events": _InPlace()})
    ring.consume()
    ring.wake()  # before the wait: the next poll returns at once
    assert ring.poll(-1) == 0
    results: list[int] = []
    waiting = threading.Thread(target=lambda: results.append(ring.poll(-1)))  # would wait for ever
    waiting.start()
    waiting.join(0.2)
    assert waiting.is_alive()
    ring.wake()
    waiting.join(10)
    assert not waiting.is_alive() and results == [0]
    ring.close()
    ring.wake()  # closed: nothing to wake, no error


def test_a_signal_handler_that_wakes_the_ring_ends_the_wait(traced: BpfObject) -> None:
    """What `bee run`'s SIGINT handler does: Python's wait resumes after a handler, unless it wakes the ring."""
    from bee.libbpf import ringbuf

    require(ringbuf.DIRECT_READ, "in-place reading is for x86-64")
    traced.map("lb_config").update(struct.pack("I", 0), CALL.pack(0, 0))  # no events: only a wake ends a wait
    ring = traced.ring_buffer({"events": _InPlace()})
    ring.consume()
    previous = signal.signal(signal.SIGALRM, lambda signum, frame: ring.wake())
    try:
        signal.setitimer(signal.ITIMER_REAL, 0.05)
        assert ring.poll(-1) == 0  # returns: without the wake it would wait for ever
    finally:
        signal.setitimer(signal.ITIMER_REAL, 0)
        signal.signal(signal.SIGALRM, previous)


@pytest.mark.parametrize("reading", ["libbpf", "in place"])
def test_a_ring_found_full_is_counted(traced: BpfObject, reading: str) -> None:
    """30,000 events (40-byte records) into a 1 MiB ring that holds 26,213 of them, nothing reading: the
    kernel refuses the rest, and the first read finds the ring full. A ring that never fills counts none."""
    from bee.libbpf import ringbuf

    require(reading == "libbpf" or ringbuf.DIRECT_READ, "in-place reading is for x86-64")
    if platform.machine() not in GETPPID:
        pytest.skip(f"no getppid syscall number for {platform.machine()}")  # not a CI architecture
    handler = _Batches() if reading == "libbpf" else _InPlace()
    calls: list[bytes] = []
    ring = traced.ring_buffer({"events": handler, "calls": calls.append})
    assert ring.full_counts() == {"events": 0, "calls": 0}
    _open_files(30_000)
    os.getppid()
    _drain(ring, lambda: len(handler.seqs) >= 26_000 and len(calls) >= 1)
    ring.consume()
    assert 26_000 <= len(handler.seqs) < 30_000  # the kernel dropped what did not fit
    assert ring.full_counts()["events"] >= 1
    assert ring.full_counts()["calls"] == 0
    ring.close()
    assert ring.full_counts()["events"] >= 1  # still answers once closed
