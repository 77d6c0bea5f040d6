"""Opening objects (no kernel), the ring-buffer fixup, load failures, and the lifecycle."""

from __future__ import annotations

import errno
import json
import logging
import os
import shutil
import subprocess
import sys
from collections.abc import Callable

import pytest

from bee.elf.ringbuf_btf import untype_ring_buffers
from bee.libbpf import BpfObject, ClosedError, LibbpfError, LoadError, MapType, ProgType
from tests.helpers import REPO, require


def test_open_lists_programs_and_maps_without_the_kernel(open_object: Callable[..., BpfObject]) -> None:
    obj = open_object("lb_ringbuf")
    assert list(obj.programs) == ["lb_openat", "lb_sys_enter"]
    openat = obj.program("lb_openat")
    assert openat.section == "tracepoint/syscalls/sys_enter_openat"
    assert openat.type == ProgType.TRACEPOINT and openat.type_name == "tracepoint"
    assert obj.program("lb_sys_enter").type == ProgType.RAW_TRACEPOINT
    assert openat.autoload and openat.autoattach and not openat.loaded
    assert set(obj.maps) == {"events", "calls", "lb_config", "lb_ringb.bss"}
    config = obj.map("lb_config")
    assert (config.type, config.key_size, config.value_size, config.max_entries) == (MapType.ARRAY, 4, 8, 1)
    assert obj.map("lb_ringb.bss").is_internal and not config.is_internal
    with pytest.raises(LibbpfError, match="has no program nope"):
        obj.program("nope")
    with pytest.raises(LibbpfError, match="map events has no file descriptor"):
        _ = obj.map("events").fd


def test_libbpf_sees_the_declared_event_type_of_a_raw_object(open_object: Callable[..., BpfObject]) -> None:
    obj = open_object("lb_ringbuf", raw=True)
    events, calls = obj.map("events"), obj.map("calls")
    assert (events.type, events.max_entries) == (MapType.RINGBUF, 1 << 20)
    assert events.value_size == 32 and calls.value_size == 8  # struct event, struct call: as declared
    assert events.btf_value_type_id > 0 and calls.btf_value_type_id > 0
    assert events.btf_value_type_id != calls.btf_value_type_id


def test_fixed_up_ring_buffers_have_no_key_nor_value(open_object: Callable[..., BpfObject]) -> None:
    obj = open_object("lb_ringbuf")
    for name in ("events", "calls"):
        ring = obj.map(name)
        assert (ring.type, ring.key_size, ring.value_size, ring.btf_value_type_id) == (MapType.RINGBUF, 0, 0, 0)


def test_untyped_ring_buffers_are_created_at_the_first_try(
        root: None, lb_object: Callable[[str], bytes], caplog: pytest.LogCaptureFixture) -> None:
    """With the BTF value types dropped (what `bee run` hands libbpf), no create is refused and retried."""
    caplog.set_level(logging.DEBUG, logger="bee.libbpf")
    with BpfObject.open(untype_ring_buffers(lb_object("lb_ringbuf")), "lb_ringbuf") as obj:
        obj.load()
        assert obj.map("events").fd >= 0 and obj.map("calls").fd >= 0
    assert caplog.records, "libbpf logged nothing at debug level: the check below would prove nothing"
    retries = [r.getMessage() for r in caplog.records if "Retrying without BTF" in r.getMessage()]
    assert retries == []


def test_without_the_fixup_the_ring_buffer_cannot_be_created(
        root: None, open_object: Callable[..., BpfObject]) -> None:
    obj = open_object("lb_ringbuf", raw=True)
    assert obj.map("events").value_size == 32
    with pytest.raises(LoadError) as caught:
        obj.load()
    assert str(caught.value) == "map events could not be created: Invalid argument"
    assert (caught.value.errno, caught.value.map_name, caught.value.program) == (errno.EINVAL, "events", None)
    with pytest.raises(LibbpfError, match="already loaded"):
        obj.load()


def test_fixed_object_loads_and_setters_refuse_after_load(root: None, open_object: Callable[..., BpfObject]) -> None:
    obj = open_object("lb_ringbuf")
    obj.map("calls").max_entries = 1 << 13
    obj.load()
    assert obj.loaded and obj.program("lb_openat").loaded and obj.program("lb_openat").fd >= 0
    assert obj.map("calls").max_entries == 1 << 13
    with pytest.raises(LibbpfError, match="cannot set the max_entries of map calls: the object is already loaded"):
        obj.map("calls").max_entries = 1 << 14


def test_autoload_off_skips_a_program(root: None, open_object: Callable[..., BpfObject]) -> None:
    obj = open_object("lb_reject")
    obj.program("lb_out_of_bounds").autoload = False
    obj.load()
    assert obj.program("lb_fine").loaded and not obj.program("lb_out_of_bounds").loaded
    with pytest.raises(LibbpfError, match="program lb_out_of_bounds is not loaded"):
        obj.program("lb_out_of_bounds").attach()


def test_a_program_the_kernel_refuses_is_named_with_the_errno_meaning(
        root: None, open_object: Callable[..., BpfObject]) -> None:
    obj = open_object("lb_fentry")
    try:
        obj.load()
    except LoadError as exc:  # this kernel refuses fentry programs (KERNEL.md)
        assert str(exc) == (f"program lb_fentry (section fentry/do_sys_openat2) could not be loaded: "
                            f"{os.strerror(exc.errno)}")
        assert (exc.program, exc.section) == ("lb_fentry", "fentry/do_sys_openat2")
        assert "lb_fentry" in (exc.libbpf_log or "")
    else:
        assert obj.program("lb_fentry").loaded  # a kernel that allows fentry


_UNPRIVILEGED_SCRIPT = """
import sys
from bee.libbpf import BpfObject, LoadError

obj = BpfObject.open(sys.stdin.buffer.read(), "lb_ringbuf")
try:
    obj.load()
except LoadError as exc:
    print(exc)
"""


def test_loading_without_privileges_says_what_is_needed(root: None, lb_object: Callable[[str], bytes]) -> None:
    setpriv = shutil.which("setpriv")
    require(setpriv is not None, "needs setpriv (util-linux) to drop privileges")
    assert setpriv is not None
    proc = subprocess.run([setpriv, "--reuid=65534", "--regid=65534", "--clear-groups", sys.executable, "-c",
                           _UNPRIVILEGED_SCRIPT], input=untype_ring_buffers(lb_object("lb_ringbuf")), cwd=REPO,
                          capture_output=True, timeout=60, check=False)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.decode().strip() == ("loading BPF object lb_ringbuf failed: Operation not permitted; "
                                   "bee run needs root or CAP_BPF+CAP_PERFMON (and CAP_NET_ADMIN for XDP/TC)")


def test_close_is_idempotent_and_wrappers_refuse_afterwards(
        root: None, open_object: Callable[..., BpfObject]) -> None:
    obj = open_object("lb_ringbuf")
    obj.load()
    program, events = obj.program("lb_sys_enter"), obj.map("events")
    link = program.attach()
    ring = obj.ring_buffer({"events": lambda sample: None})
    assert obj.links == [link]
    obj.close()
    obj.close()
    assert obj.closed and link.closed and ring.closed and obj.links == []
    with pytest.raises(ClosedError):
        _ = program.fd
    with pytest.raises(ClosedError):
        events.lookup(b"")
    with pytest.raises(ClosedError):
        ring.poll(0)
    link.close()  # harmless


def test_a_link_closed_early_leaves_the_object(root: None, open_object: Callable[..., BpfObject]) -> None:
    obj = open_object("lb_ringbuf")
    obj.load()
    first, second = obj.program("lb_sys_enter").attach(), obj.program("lb_openat").attach()
    with first:
        pass
    assert first.closed and obj.links == [second]


def _bpftool(*args: str) -> list[dict[str, object]]:
    bpftool = shutil.which("bpftool") or "/usr/sbin/bpftool"
    require(os.path.exists(bpftool), "needs bpftool")
    out = subprocess.run([bpftool, "-j", *args], capture_output=True, text=True, check=True).stdout
    entries: list[dict[str, object]] = json.loads(out or "[]")
    return entries


def test_twenty_cycles_leak_no_fd_program_or_link(root: None, lb_object: Callable[[str], bytes]) -> None:
    data = untype_ring_buffers(lb_object("lb_ringbuf"))

    def cycle() -> set[int]:
        with BpfObject.open(data, "lb_ringbuf") as obj:
            obj.load()
            for program in obj.programs.values():
                program.attach()
            ring = obj.ring_buffer({"events": lambda s: None, "calls": lambda s: None})
            ring.poll(0)
            names = {p["name"]: p["id"] for p in _bpftool("prog", "list") if p.get("name") in obj.programs}
            assert set(names) == {"lb_openat", "lb_sys_enter"}
            return set(names.values())  # type: ignore[arg-type]

    cycle()  # first use opens libbpf, libc and tracefs once
    before = len(os.listdir("/proc/self/fd"))
    ids: set[int] = set()
    for _ in range(20):
        ids |= cycle()
    assert len(os.listdir("/proc/self/fd")) == before
    assert len(ids) == 40
    assert not ids & {p["id"] for p in _bpftool("prog", "list")}
    assert not ids & {link.get("prog_id") for link in _bpftool("link", "list")}
