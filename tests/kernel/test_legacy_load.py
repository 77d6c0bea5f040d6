"""Objects of bumblebee v0.0.13/14 (`.maps.print`, `.maps.counter`, `.maps.gauge`) with the real libbpf.

As compiled, libbpf refuses them ("bad map relo"); after `merge_map_sections` they open,
load (BTF included), attach and report events like any object with its maps in `.maps`.
"""

from __future__ import annotations

import logging
import os
import struct
import threading
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from bee.elf import load_spec
from bee.libbpf import BpfObject, LibbpfError, MapType, RingBuffer, ensure_tracefs
from bee.run.fixups import loadable_bytes
from tests.helpers import require

OPENSNOOP_EVENT = struct.Struct("=II16s64s")  # struct event of legacy_opensnoop.c
MAPS_EVENT = struct.Struct("=II16s")  # struct event of legacy_maps.c
DIMENSIONS = struct.Struct("=I16s")  # struct dimensions_t of legacy_maps.c
U32, U64 = struct.Struct("=I"), struct.Struct("=Q")


@pytest.fixture
def tracefs(root: None) -> None:
    require(ensure_tracefs(), "tracefs is not mounted at /sys/kernel/tracing and cannot be mounted")


def _comm() -> bytes:
    return Path(f"/proc/self/task/{threading.get_native_id()}/comm").read_text().strip().encode()


def _drain(ring: RingBuffer, done: Callable[[], bool], seconds: float = 10) -> None:
    deadline = time.monotonic() + seconds
    while not done() and time.monotonic() < deadline:
        ring.poll(50)


def _libbpf_warnings(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.name == "bee.libbpf" and r.levelno >= logging.WARNING]



def _loadable(data: bytes) -> bytes:
    """The object as `bee run` hands it to libbpf: map sections merged, ring buffers untyped."""
    return loadable_bytes(data, load_spec(data), "input")

# legacy_opensnoop: `.maps.print` only; legacy_maps: `.maps` then three `.maps.<kind>`; spec_section (the
# bee.elf test program): `.maps.<kind>` sections before `.maps`, two maps in one section, kprobe programs.
@pytest.mark.parametrize(("name", "refused"), [
    ("legacy_opensnoop", r"bad map relo against 'events' in section '\.maps\.print'"),
    ("legacy_maps", r"bad map relo against 'opens' in section '\.maps\.counter'"),
    ("spec_section", r"bad map relo against '\w+' in section '\.maps\.\w+'"),
])
def test_libbpf_refuses_the_objects_as_compiled(lb_object: Callable[[str], bytes], name: str,
                                                refused: str) -> None:
    with pytest.raises(LibbpfError, match=refused):
        BpfObject.open(lb_object(name), name)


@pytest.mark.parametrize("name", ["legacy_opensnoop", "legacy_maps", "spec_section"])
def test_merged_objects_load_with_their_btf(root: None, lb_object: Callable[[str], bytes], name: str,
                                            caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING, logger="bee.libbpf")
    declared = {m.name: (m.map_type, m.max_entries) for m in load_spec(lb_object(name)).maps}
    with BpfObject.open(_loadable(lb_object(name)), name) as obj:
        maps = {n: m for n, m in obj.maps.items() if not m.is_internal}
        assert {n: (m.type, m.max_entries) for n, m in maps.items()} == declared
        obj.load()
        assert _libbpf_warnings(caplog) == []  # the kernel refusing the BTF would be one
        assert all(m.fd >= 0 for m in maps.values())
        assert all(p.loaded for p in obj.programs.values())


def test_merged_opensnoop_reports_this_process(tracefs: None, lb_object: Callable[[str], bytes], tmp_path: Path,
                                               caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING, logger="bee.libbpf")
    path = tmp_path / "opened-by-the-test"
    path.write_text("")
    mine: list[tuple[int, int, bytes, bytes]] = []

    def on_event(sample: bytes) -> None:
        pid, uid, comm, fname = OPENSNOOP_EVENT.unpack(sample[:OPENSNOOP_EVENT.size])
        if pid == os.getpid() and fname.split(b"\0", 1)[0] == str(path).encode()[:63]:
            mine.append((pid, uid, comm.split(b"\0", 1)[0], fname.split(b"\0", 1)[0]))

    with BpfObject.open(_loadable(lb_object("legacy_opensnoop")), "legacy_opensnoop") as obj:
        assert list(obj.maps) == ["events"] and obj.map("events").type == MapType.RINGBUF
        obj.load()
        assert _libbpf_warnings(caplog) == []  # among them "Error loading .BTF into kernel"
        obj.program("handle_openat").attach()
        ring = obj.ring_buffer({"events": on_event})
        os.close(os.open(path, os.O_RDONLY))
        _drain(ring, lambda: bool(mine))
    assert mine[:1] == [(os.getpid(), os.getuid(), _comm(), str(path).encode()[:63])]


def test_merged_maps_feed_events_counters_and_gauges(tracefs: None, lb_object: Callable[[str], bytes],
                                                     tmp_path: Path, caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.WARNING, logger="bee.libbpf")
    path = tmp_path / "opened-three-times"
    path.write_text("")
    events: list[bytes] = []
    with BpfObject.open(_loadable(lb_object("legacy_maps")), "legacy_maps") as obj:
        assert {n: m.type for n, m in obj.maps.items()} == {
            "target_pid": MapType.ARRAY, "opens": MapType.HASH, "last_flags": MapType.HASH,
            "events": MapType.RINGBUF}
        obj.load()
        assert _libbpf_warnings(caplog) == []
        obj.map("target_pid").update(U32.pack(0), U32.pack(os.getpid()))
        obj.program("handle_openat").attach()
        ring = obj.ring_buffer({"events": events.append})
        flags = os.O_RDONLY | os.O_NOFOLLOW
        for _ in range(3):
            os.close(os.open(path, flags))
        _drain(ring, lambda: len(events) >= 3)
        obj.map("target_pid").update(U32.pack(0), U32.pack(0))
        decoded = [MAPS_EVENT.unpack(e) for e in events]
        key = DIMENSIONS.pack(os.getpid(), _comm())
        assert len(decoded) >= 3
        assert {(pid, comm) for pid, _, comm in decoded} == {(os.getpid(), _comm().ljust(16, b"\0"))}
        reported = decoded[0][1]
        assert reported & flags == flags
        assert obj.map("opens").items() == [(key, U64.pack(len(decoded)))]
        assert obj.map("last_flags").items() == [(key, U64.pack(decoded[-1][1]))]
