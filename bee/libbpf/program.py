"""`Program`: one program of a `BpfObject`: load-time switches, attach, pin, test run.

Attach methods return a `Link` that the owning object also tracks and closes when it
closes. libbpf owns the program fd; never close it yourself.
"""

from __future__ import annotations

import errno as E
import socket

from bee.libbpf import _ffi, system
from bee.libbpf.constants import BPF_XDP, TC_EGRESS, TC_INGRESS, ProgType, XdpFlags
from bee.libbpf.errors import (
    ENOTSUPP,
    AttachError,
    KprobesUnsupportedError,
    LibbpfError,
    NeedsTargetError,
    describe_errno,
)
from bee.libbpf.link import FdLink, LibbpfLink, Link, TcLink
from bee.records import Record  # not dataclasses: ~8 ms + 0.7 ms a class of bee run (docs/dev/startup.md)

TYPE_CHECKING = False  # typing's flag without importing typing: ~3 ms of bee run (docs/dev/startup.md)
if TYPE_CHECKING:
    from typing import Any, Literal

    from bee.libbpf.object import BpfObject
    from bee.libbpf.stats import RunStats

ffi = _ffi.ffi

KPROBE_SECTIONS = ("kprobe", "kretprobe", "ksyscall", "kretsyscall", "kprobe.multi", "kretprobe.multi")
TRACEPOINT_SECTIONS = ("tracepoint", "tp")

_TARGETS: dict[int, str] = {
    ProgType.XDP: "a network interface (--iface)",
    ProgType.SCHED_CLS: "a network interface (--iface)",
    ProgType.SCHED_ACT: "a network interface (--iface)",
    ProgType.SOCKET_FILTER: "a socket",
    ProgType.PERF_EVENT: "a perf event",
    ProgType.CGROUP_SKB: "a cgroup",
    ProgType.CGROUP_SOCK: "a cgroup",
    ProgType.CGROUP_SOCK_ADDR: "a cgroup",
    ProgType.CGROUP_DEVICE: "a cgroup",
    ProgType.CGROUP_SYSCTL: "a cgroup",
    ProgType.CGROUP_SOCKOPT: "a cgroup",
    ProgType.SOCK_OPS: "a cgroup",
}


class TestRunResult(Record):
    """What BPF_PROG_TEST_RUN reported: the program's return value, output packet, mean run time."""

    __test__ = False  # not a pytest class

    retval: int
    data: bytes
    duration_ns: int


class Program:
    """A program of an opened `BpfObject`; valid until the object closes (then ClosedError)."""

    def __init__(self, owner: BpfObject, ptr: Any) -> None:
        self._owner = owner
        self._ptr = ptr
        lib = _ffi.lib()
        self.name: str = _ffi.string(lib.bpf_program__name(ptr))
        #: The ELF section, which names the hook (`tracepoint/syscalls/sys_enter_openat`, `xdp`).
        self.section: str = _ffi.string(lib.bpf_program__section_name(ptr))

    def __repr__(self) -> str:
        return f"<Program {self.name} ({self.section})>"

    def _live(self) -> Any:
        self._owner._require_open()
        return self._ptr

    @property
    def type(self) -> int:
        """`enum bpf_prog_type` as libbpf guessed it from the section (compare with `ProgType`)."""
        return int(_ffi.lib().bpf_program__type(self._live()))

    @property
    def type_name(self) -> str:
        return _ffi.string(_ffi.lib().libbpf_bpf_prog_type_str(self.type)) or str(self.type)

    @property
    def autoload(self) -> bool:
        """Whether `load()` loads this program (set before load)."""
        return bool(_ffi.lib().bpf_program__autoload(self._live()))

    @autoload.setter
    def autoload(self, value: bool) -> None:
        ret = _ffi.lib().bpf_program__set_autoload(self._live(), bool(value))
        if ret < 0:
            raise LibbpfError(f"cannot change autoload of program {self.name}: the object is already loaded",
                              errno=-ret)

    @property
    def autoattach(self) -> bool:
        """Whether attach-all callers should attach this program by its section (libbpf >= 1.0)."""
        return bool(_ffi.lib().bpf_program__autoattach(self._live()))

    @autoattach.setter
    def autoattach(self, value: bool) -> None:
        _ffi.lib().bpf_program__set_autoattach(self._live(), bool(value))

    @property
    def hook_kind(self) -> str:
        """The section's first component (`tracepoint`, `kprobe`, `xdp`, ...)."""
        return self.section.split("/", 1)[0]

    @property
    def loaded(self) -> bool:
        return int(_ffi.lib().bpf_program__fd(self._live())) >= 0

    @property
    def fd(self) -> int:
        """The program fd, owned by the object; LibbpfError when the program is not loaded."""
        fd = int(_ffi.lib().bpf_program__fd(self._live()))
        if fd < 0:
            raise LibbpfError(f"program {self.name} is not loaded")
        return fd

    def run_stats(self) -> RunStats:
        """How many times the loaded program ran and for how long, as the kernel counted while its run-time
        statistics were on (`bee.libbpf.stats`). LibbpfError when the program is not loaded."""
        from bee.libbpf.stats import read_run_stats  # only runs with --bpf-stats read them (docs/dev/startup.md)

        return read_run_stats(self.fd)

    # -- attach -------------------------------------------------------------------------------

    def attach(self) -> Link:
        """Attach by section (tracepoint, raw_tp, tp_btf, uprobe/<path>:<sym>, kprobe, iter, ...).

        Mounts tracefs first for tracepoint sections when it is missing (root only).
        Raises NeedsTargetError when the section names no target (xdp, tc, socket, cgroup,
        perf_event, a bare `uprobe`), KprobesUnsupportedError for kprobes on a kernel without
        them, AttachError otherwise.
        """
        ptr = self._require_loaded()
        if self.hook_kind in TRACEPOINT_SECTIONS:
            system.ensure_tracefs()
        with _ffi.capture_log() as records:
            link = _ffi.lib().bpf_program__attach(ptr)
            code = ffi.errno
        if link == ffi.NULL:
            raise self._attach_error(code, records)
        _ffi.log_warnings(records)
        return self._track(LibbpfLink(self.name, self.hook_kind, link))

    def attach_xdp(self, ifindex: int, flags: int = XdpFlags.AUTO) -> Link:
        """Attach an XDP program to interface `ifindex` with a BPF link (kernel >= 5.9).

        `flags` picks the mode (XdpFlags.SKB_MODE, DRV_MODE, HW_MODE); AUTO lets the kernel
        choose. The link detaches when closed or when this process exits.
        """
        ptr = self._require_loaded()
        lib = _ffi.lib()
        if not flags:
            with _ffi.capture_log() as records:
                link = lib.bpf_program__attach_xdp(ptr, ifindex)
                code = ffi.errno
            if link == ffi.NULL:
                raise self._interface_error(ifindex, code, records)
            _ffi.log_warnings(records)
            return self._track(LibbpfLink(self.name, "xdp", link))
        opts = ffi.new("struct bpf_link_create_opts *")
        opts.sz = ffi.sizeof("struct bpf_link_create_opts")
        opts.flags = int(flags)
        fd = lib.bpf_link_create(lib.bpf_program__fd(ptr), ifindex, BPF_XDP, opts)
        if fd < 0:
            raise self._interface_error(ifindex, -fd)
        return self._track(FdLink(self.name, "xdp", fd))

    def attach_tc(self, ifindex: int, direction: Literal["ingress", "egress"] = "ingress") -> Link:
        """Attach a TC (sched_cls) program to the ingress or egress of interface `ifindex`.

        Creates the interface's clsact qdisc when missing; the link removes its filter (and
        that qdisc, once unused by this process) on close.
        """
        if direction not in ("ingress", "egress"):
            raise ValueError(f"a TC direction is 'ingress' or 'egress', not {direction!r}")
        ptr = self._require_loaded()
        lib = _ffi.lib()
        hook = ffi.new("struct bpf_tc_hook *")
        hook.sz = ffi.sizeof("struct bpf_tc_hook")
        hook.ifindex = ifindex
        hook.attach_point = TC_INGRESS if direction == "ingress" else TC_EGRESS
        with _ffi.capture_log() as records:
            ret = lib.bpf_tc_hook_create(hook)
        if ret < 0 and -ret != E.EEXIST:
            raise self._interface_error(ifindex, -ret, records)
        created = ret == 0
        opts = ffi.new("struct bpf_tc_opts *")
        opts.sz = ffi.sizeof("struct bpf_tc_opts")
        opts.prog_fd = lib.bpf_program__fd(ptr)
        with _ffi.capture_log() as records:
            ret = lib.bpf_tc_attach(hook, opts)
        if ret < 0:
            if created:
                hook.attach_point = TC_INGRESS | TC_EGRESS
                lib.bpf_tc_hook_destroy(hook)
            raise self._interface_error(ifindex, -ret, records, direction)
        return self._track(TcLink(self.name, hook, int(opts.handle), int(opts.priority), created))

    def attach_uprobe(self, binary: str, function: str | None = None, *, offset: int = 0, pid: int = -1,
                      retprobe: bool = False) -> Link:
        """Attach a uprobe to `function` (or `offset` bytes into `binary`) in `binary`.

        `pid` -1 probes every process; `retprobe` fires on return instead of entry.
        """
        ptr = self._require_loaded()
        opts = ffi.new("struct bpf_uprobe_opts *")
        opts.sz = ffi.sizeof("struct bpf_uprobe_opts")
        opts.retprobe = retprobe
        name = ffi.new("char[]", function.encode()) if function else ffi.NULL
        opts.func_name = name
        with _ffi.capture_log() as records:
            link = _ffi.lib().bpf_program__attach_uprobe_opts(ptr, pid, binary.encode(), offset, opts)
            code = ffi.errno
        if link == ffi.NULL:
            where = f"{binary}:{function}" if function else f"{binary}+{offset:#x}"
            raise self._target_error(where, code, records)
        _ffi.log_warnings(records)
        return self._track(LibbpfLink(self.name, "uprobe", link))

    def _require_loaded(self) -> Any:
        ptr = self._live()
        if int(_ffi.lib().bpf_program__fd(ptr)) < 0:
            raise LibbpfError(f"program {self.name} is not loaded: load the object before attaching")
        return ptr

    def _track(self, link: Link) -> Link:
        self._owner._add_link(link)
        return link

    def _attach_error(self, code: int, records: list[tuple[int, str]]) -> AttachError:
        where = f"program {self.name} (section {self.section})"
        detail = "\n".join(_ffi.warnings(records)) or None
        if self.hook_kind in KPROBE_SECTIONS and not system.kprobes_supported():
            return KprobesUnsupportedError(
                f"{where} cannot attach: this kernel has no kprobe support",
                program=self.name, section=self.section, errno=code, detail=detail)
        if code in (E.EOPNOTSUPP, ENOTSUPP):
            target = _TARGETS.get(self.type, "an explicit target, which its section does not name")
            return NeedsTargetError(f"{where} cannot attach by itself: it needs {target}",
                                    program=self.name, section=self.section, errno=code, detail=detail)
        if self.hook_kind in TRACEPOINT_SECTIONS and not system.tracefs_mounted():
            return AttachError(f"{where} cannot attach: tracefs is not mounted at {system.TRACEFS} "
                               f"(mount -t tracefs none {system.TRACEFS})",
                               program=self.name, section=self.section, errno=code, detail=detail)
        return AttachError(f"{where} could not be attached: {describe_errno(code)}",
                           program=self.name, section=self.section, errno=code, detail=detail)

    def _interface_error(self, ifindex: int, code: int, records: list[tuple[int, str]] | None = None,
                         direction: str = "") -> AttachError:
        try:
            name = socket.if_indextoname(ifindex)
        except OSError:
            return AttachError(f"program {self.name} (section {self.section}) could not be attached: there is no "
                               f"network interface with index {ifindex}", program=self.name, section=self.section,
                               errno=code)
        where = f"the {direction} of interface {name}" if direction else f"interface {name}"
        return self._target_error(where, code, records)

    def _target_error(self, target: str, code: int, records: list[tuple[int, str]] | None = None) -> AttachError:
        return AttachError(f"program {self.name} (section {self.section}) could not be attached to {target}: "
                           f"{describe_errno(code)}", program=self.name, section=self.section, errno=code,
                           detail="\n".join(_ffi.warnings(records or [])) or None)

    # -- pinning and test runs ----------------------------------------------------------------

    def pin(self, path: str) -> None:
        """Pin the loaded program at `path` on bpffs (it stays loaded until unpinned)."""
        ret = _ffi.lib().bpf_program__pin(self._require_loaded(), path.encode())
        if ret < 0:
            raise LibbpfError(f"cannot pin program {self.name} at {path}: {describe_errno(-ret)}", errno=-ret)

    def unpin(self, path: str) -> None:
        ret = _ffi.lib().bpf_program__unpin(self._live(), path.encode())
        if ret < 0:
            raise LibbpfError(f"cannot unpin program {self.name} at {path}: {describe_errno(-ret)}", errno=-ret)

    def test_run(self, data: bytes, *, repeat: int = 1, out_size: int | None = None) -> TestRunResult:
        """Run the program once (or `repeat` times) on packet `data` with BPF_PROG_TEST_RUN.

        For program types that take packets (XDP, TC, socket filters, ...); kernel >= 4.12.
        `out_size` bounds the output packet (default: input size + 256).
        """
        fd = self.fd
        size = len(data) + 256 if out_size is None else out_size
        data_in = ffi.from_buffer(data)
        data_out = ffi.new("char[]", max(size, 1))
        opts = ffi.new("struct bpf_test_run_opts *")
        opts.sz = ffi.sizeof("struct bpf_test_run_opts")
        opts.data_in, opts.data_size_in = data_in, len(data)
        opts.data_out, opts.data_size_out = data_out, size
        opts.repeat = repeat
        ret = _ffi.lib().bpf_prog_test_run_opts(fd, opts)
        if ret < 0:
            raise LibbpfError(f"test run of program {self.name} failed: {describe_errno(-ret)}", errno=-ret)
        out_len = min(int(opts.data_size_out), size)
        return TestRunResult(int(opts.retval), ffi.buffer(data_out, out_len)[:], int(opts.duration))
