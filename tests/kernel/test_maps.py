"""Map contents from user space: lookup, update, delete, keys, batch items, pinning."""

from __future__ import annotations

import errno
import os
import struct
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from bee.libbpf import BpfObject, LibbpfError, UpdateFlags, bpffs_mounted, ensure_bpffs
from bee.libbpf.system import BPFFS
from tests.helpers import require

KEY = struct.Struct("=HBB")  # struct port_key of lb_net.c
U64 = struct.Struct("=Q")


@pytest.fixture
def net(root: None, open_object: Callable[..., BpfObject]) -> BpfObject:
    obj = open_object("lb_net")
    obj.load()
    return obj


def test_hash_map_round_trip(net: BpfObject) -> None:
    counters = net.map("counter_xdp")
    key = KEY.pack(53, 17, 0)
    assert counters.lookup(key) is None and counters.items() == [] and counters.keys() == []
    counters.update(key, U64.pack(7))
    assert counters.lookup(key) == U64.pack(7)
    with pytest.raises(LibbpfError, match="updating map counter_xdp failed: File exists") as caught:
        counters.update(key, U64.pack(8), UpdateFlags.NOEXIST)
    assert caught.value.errno == errno.EEXIST
    counters.update(key, U64.pack(9), UpdateFlags.EXIST)
    assert counters.items() == [(key, U64.pack(9))]
    assert counters.delete(key) is True and counters.delete(key) is False
    assert counters.lookup(key) is None


def test_sizes_are_checked(net: BpfObject) -> None:
    counters = net.map("counter_xdp")
    with pytest.raises(ValueError, match="map counter_xdp has 4-byte keys, got 3 bytes"):
        counters.lookup(b"abc")
    with pytest.raises(ValueError, match="map counter_xdp has 8-byte values, got 4 bytes"):
        counters.update(KEY.pack(1, 17, 0), b"abcd")


def test_batch_and_key_walk_read_the_same_entries(net: BpfObject) -> None:
    counters = net.map("counter_tc")
    expected = {KEY.pack(port, 17, 0): U64.pack(port * 3) for port in range(1000, 1050)}
    for key, value in expected.items():
        counters.update(key, value)
    batched = counters.items()
    walked = counters.items(batch=False)
    assert len(batched) == len(walked) == 50
    assert dict(batched) == dict(walked) == expected
    assert sorted(counters.keys()) == sorted(expected)


def test_full_map_and_array_map(net: BpfObject, open_object: Callable[..., BpfObject]) -> None:
    counters = net.map("counter_xdp")
    for port in range(counters.max_entries):
        counters.update(KEY.pack(port, 6, 0), U64.pack(port))
    assert len(counters.items()) == counters.max_entries == 64
    with pytest.raises(LibbpfError, match="updating map counter_xdp failed: Argument list too long"):
        counters.update(KEY.pack(999, 6, 0), U64.pack(1))
    probes = open_object("lb_probes")
    probes.load()
    calls = probes.map("lb_calls")
    calls.update(struct.pack("I", 1), U64.pack(42))
    assert calls.items() == [(struct.pack("I", 0), U64.pack(0)), (struct.pack("I", 1), U64.pack(42))]
    assert calls.items(batch=False) == calls.items()


def test_array_entries_cannot_be_deleted(root: None, open_object: Callable[..., BpfObject]) -> None:
    probes = open_object("lb_probes")
    probes.load()
    with pytest.raises(LibbpfError, match="deleting a key of map lb_calls failed: Invalid argument"):
        probes.map("lb_calls").delete(struct.pack("I", 0))


def _possible_cpus() -> int:
    count = 0
    for part in Path("/sys/devices/system/cpu/possible").read_text().strip().split(","):
        first, _, last = part.partition("-")
        count += int(last or first) - int(first) + 1
    return count


def test_per_cpu_values_come_one_per_possible_cpu(root: None, open_object: Callable[..., BpfObject]) -> None:
    obj = open_object("lb_probes")
    obj.load()
    percpu = obj.map("lb_percpu")
    cpus = _possible_cpus()
    assert percpu.value_size == 4 and percpu.lookup_value_size == 8 * cpus  # each value padded to 8 bytes
    values = b"".join(struct.pack("=Ixxxx", 100 + cpu) for cpu in range(cpus))
    percpu.update(struct.pack("I", 1), values)
    assert percpu.lookup(struct.pack("I", 1)) == values
    assert dict(percpu.items())[struct.pack("I", 1)] == values
    assert dict(percpu.items(batch=False))[struct.pack("I", 0)] == bytes(8 * cpus)


@pytest.fixture
def pin_dir(root: None) -> Iterator[Path]:
    ensure_bpffs(BPFFS)
    require(bpffs_mounted(BPFFS), f"needs a BPF filesystem at {BPFFS}")
    path = BPFFS / f"bee-lb-{os.getpid()}"
    path.mkdir(exist_ok=True)
    yield path
    for entry in path.iterdir():
        entry.unlink()
    path.rmdir()


def test_pin_maps_and_programs(pin_dir: Path, open_object: Callable[..., BpfObject]) -> None:
    obj = open_object("lb_net")
    obj.map("counter_tc").set_pin_path(str(pin_dir / "counter_tc"))
    obj.load()
    assert (pin_dir / "counter_tc").exists()  # pinned by load
    obj.map("counter_xdp").pin(str(pin_dir / "counter_xdp"))
    obj.program("lb_xdp_count").pin(str(pin_dir / "lb_xdp_count"))
    assert {p.name for p in pin_dir.iterdir()} == {"counter_tc", "counter_xdp", "lb_xdp_count"}
    obj.map("counter_xdp").unpin(str(pin_dir / "counter_xdp"))
    obj.program("lb_xdp_count").unpin(str(pin_dir / "lb_xdp_count"))
    assert {p.name for p in pin_dir.iterdir()} == {"counter_tc"}
    with pytest.raises(LibbpfError, match="cannot pin map counter_xdp at /nonexistent/x"):
        obj.map("counter_xdp").pin("/nonexistent/x")


def test_a_pinned_map_is_reused_by_the_next_load(pin_dir: Path, open_object: Callable[..., BpfObject]) -> None:
    first = open_object("lb_net")
    first.map("counter_tc").set_pin_path(str(pin_dir / "counter_tc"))
    first.load()
    first.map("counter_tc").update(KEY.pack(1, 17, 0), U64.pack(5))
    first.close()
    second = open_object("lb_net")
    second.map("counter_tc").set_pin_path(str(pin_dir / "counter_tc"))
    second.load()
    assert second.map("counter_tc").items() == [(KEY.pack(1, 17, 0), U64.pack(5))]


def test_the_initial_value_of_rodata_is_what_the_kernel_map_holds(root: None,
                                                                   open_object: Callable[..., BpfObject]) -> None:
    """Parameters: new `.rodata` bytes set between open and load are the frozen map's contents."""
    obj = open_object("params")
    (rodata,) = [m for m in obj.maps.values() if m.is_internal and m.name.endswith(".rodata")]
    before = rodata.initial_value
    assert before is not None and len(before) == rodata.value_size
    assert before[16:20] == struct.pack("=I", 7)  # count's default
    changed = before[:16] + struct.pack("=I", 1234) + before[20:]
    rodata.set_initial_value(changed)
    assert rodata.initial_value == changed
    with pytest.raises(LibbpfError, match=rf"map {rodata.name}: it takes {len(before)} bytes, got 3"):
        rodata.set_initial_value(b"abc")
    with pytest.raises(LibbpfError, match="map print_params: it is not a global data map"):
        obj.map("print_params").set_initial_value(b"")
    obj.load()
    assert rodata.lookup(struct.pack("=I", 0)) == changed
    with pytest.raises(LibbpfError, match="the object is already loaded"):
        rodata.set_initial_value(changed)


def possible_cpus() -> int:
    """The number of possible CPUs, as the kernel lists them (`0-1`, `0,2-3`)."""
    ranges = Path("/sys/devices/system/cpu/possible").read_text().strip().split(",")
    return sum(int(r.split("-")[-1]) - int(r.split("-")[0]) + 1 for r in ranges)


def test_per_cpu_values_one_per_possible_cpu(root: None, open_object: Callable[..., BpfObject]) -> None:
    """A per-CPU lookup holds one value per possible CPU, each padded to 8 bytes; `per_cpu_items` splits it."""
    obj = open_object("maps_hashes")
    obj.load()
    pcpu = obj.map("print_pcpu")  # PERCPU_HASH, u32 values: 4 bytes of padding after each
    cpus = possible_cpus()
    assert pcpu.per_cpu and pcpu.lookup_value_size == 8 * cpus
    key = b"beehash".ljust(16, b"\0")
    per_cpu = [struct.pack("=I", 10 + cpu) for cpu in range(cpus)]
    pcpu.update(key, b"".join(value + b"\xff" * 4 for value in per_cpu))
    assert pcpu.per_cpu_items() == [(key, per_cpu)]
    plain = obj.map("counter_lru")
    assert not plain.per_cpu
    with pytest.raises(ValueError, match="map counter_lru is a lru_hash map, not a per-CPU one"):
        plain.per_cpu_items()
