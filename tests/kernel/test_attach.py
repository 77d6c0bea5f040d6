"""Attaching by section and explicitly, and the one-sentence errors when a hook is missing."""

from __future__ import annotations

import os
import shutil
import struct
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from bee.elf.ringbuf_btf import untype_ring_buffers
from bee.libbpf import (
    AttachError,
    BpfObject,
    KprobesUnsupportedError,
    NeedsTargetError,
    kprobes_supported,
)
from tests.helpers import REPO, require

U64 = struct.Struct("=Q")


def test_kprobe_programs_load_whether_or_not_the_kernel_has_kprobes(
        root: None, open_object: Callable[..., BpfObject]) -> None:
    obj = open_object("lb_probes")
    obj.load()
    assert obj.program("lb_kprobe").loaded


def test_attaching_a_kprobe_says_the_kernel_has_no_kprobes(
        root: None, open_object: Callable[..., BpfObject]) -> None:
    require(not kprobes_supported(), "needs a kernel without kprobes, as this project's machines have")
    obj = open_object("lb_probes")
    obj.load()
    program = obj.program("lb_kprobe")
    with pytest.raises(KprobesUnsupportedError) as caught:
        program.attach()
    assert str(caught.value) == (
        "program lb_kprobe (section kprobe/do_sys_openat2) cannot attach: this kernel has no kprobe support")
    assert (caught.value.program, caught.value.section) == ("lb_kprobe", "kprobe/do_sys_openat2")
    assert "do_sys_openat2" in (caught.value.libbpf_log or "")  # libbpf's own words, for --debug
    assert obj.links == []


@pytest.mark.parametrize(("object_name", "program", "section", "target"), [
    ("lb_net", "lb_xdp_count", "xdp", "a network interface (--iface)"),
    ("lb_net", "lb_tc_count", "tc", "a network interface (--iface)"),
    ("lb_probes", "lb_uprobe_manual", "uprobe", "an explicit target, which its section does not name"),
])
def test_programs_without_a_target_in_their_section_need_one(
        root: None, open_object: Callable[..., BpfObject], object_name: str, program: str, section: str,
        target: str) -> None:
    obj = open_object(object_name)
    obj.load()
    with pytest.raises(NeedsTargetError) as caught:
        obj.program(program).attach()
    assert str(caught.value) == f"program {program} (section {section}) cannot attach by itself: it needs {target}"


def test_uprobes_by_section_and_explicit(root: None, open_object: Callable[..., BpfObject]) -> None:
    obj = open_object("lb_probes")
    obj.load()
    calls = obj.map("lb_calls")
    auto = obj.program("lb_uprobe_auto").attach()  # section uprobe/libc.so.6:getpid
    manual = obj.program("lb_uprobe_manual").attach_uprobe("libc.so.6", "getpid")
    assert (auto.kind, manual.kind) == ("uprobe", "uprobe") and auto.fd >= 0
    obj.map("lb_probe_pid").update(struct.pack("I", 0), struct.pack("I", os.getpid()))
    for _ in range(5):
        os.getpid()
    assert calls.items() == [(struct.pack("I", 0), U64.pack(5)), (struct.pack("I", 1), U64.pack(5))]
    manual.close()
    os.getpid()
    assert [U64.unpack(v)[0] for _, v in calls.items()] == [6, 5]


def test_a_uprobe_on_a_missing_function_is_one_sentence(root: None, open_object: Callable[..., BpfObject]) -> None:
    obj = open_object("lb_probes")
    obj.load()
    with pytest.raises(AttachError) as caught:
        obj.program("lb_uprobe_manual").attach_uprobe("libc.so.6", "bee_no_such_function")
    assert str(caught.value).startswith(
        "program lb_uprobe_manual (section uprobe) could not be attached to libc.so.6:bee_no_such_function: ")
    assert obj.links == []


_MOUNT_SCRIPT = """
import subprocess, sys
from pathlib import Path
from bee.libbpf import BpfObject, tracefs_mounted

for mount in ("/sys/kernel/debug/tracing", "/sys/kernel/debug", "/sys/kernel/tracing"):
    subprocess.run(["umount", mount], capture_output=True)
assert not tracefs_mounted(), "tracefs still mounted"
with BpfObject.open(Path(sys.argv[1]).read_bytes(), "lb_ringbuf") as obj:
    obj.load()
    obj.program("lb_openat").attach()
    print("attached, tracefs mounted:", tracefs_mounted())
"""


def test_tracepoint_attach_mounts_tracefs_when_missing(
        root: None, lb_object: Callable[[str], bytes], tmp_path: Path) -> None:
    unshare = shutil.which("unshare")
    require(unshare is not None, "needs unshare (util-linux) for a private mount namespace")
    assert unshare is not None
    obj = tmp_path / "lb_ringbuf.o"
    obj.write_bytes(untype_ring_buffers(lb_object("lb_ringbuf")))
    # in a mount namespace of its own, so unmounting tracefs there touches nothing else
    proc = subprocess.run([unshare, "--mount", "--propagation", "private", sys.executable, "-c", _MOUNT_SCRIPT,
                           str(obj)], cwd=REPO, capture_output=True, text=True, timeout=60, check=False)
    assert proc.returncode == 0, proc.stderr
    assert proc.stdout.strip() == "attached, tracefs mounted: True"


def test_closing_detaches_every_link_at_once(root: None, open_object: Callable[..., BpfObject]) -> None:
    """Links are detached on threads of their own (the kernel's grace periods then overlap): every
    one is gone from the kernel when `close()` returns, and the object is closed after them."""
    from tests.run.conftest import bpf_link_ids, bpf_prog_ids

    objects = []
    for _ in range(4):
        obj = open_object("lb_ringbuf")
        obj.load()
        for program in obj.programs.values():
            program.attach()
        objects.append(obj)
    prog_ids = bpf_prog_ids("lb_openat") | bpf_prog_ids("lb_sys_enter")
    links = bpf_link_ids(prog_ids)
    assert len(links) == sum(len(obj.links) for obj in objects) >= 8
    for obj in objects:
        obj.close()
        assert obj.links == [] and obj.closed
    assert bpf_link_ids(prog_ids) == set()
    assert bpf_link_ids() & links == set()
