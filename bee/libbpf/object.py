"""`BpfObject`: an ELF object opened with libbpf, loaded into the kernel, and closed in one place.

Lifecycle: `open()` (no kernel, no root) → adjust programs and maps → `load()` (kernel;
verifier log captured) → attach programs, read maps, make ring buffers → `close()`, which
destroys links, then frees ring buffers, then closes the object (and so every program and
map fd), in that order. The object owns everything it hands out; after `close()` those
wrappers raise ClosedError instead of touching freed memory.
"""

from __future__ import annotations

import errno as E
import mmap
import re
import threading
from collections.abc import Mapping

from bee.libbpf import _ffi, system
from bee.libbpf.constants import MapType
from bee.libbpf.errors import ClosedError, LibbpfError, LoadError, VerifierError, describe_errno
from bee.libbpf.link import Link, TcLink
from bee.libbpf.map import Map
from bee.libbpf.program import Program
from bee.libbpf.ringbuf import RingBuffer
from bee.libbpf.ringmem import DIRECT_READ, RingPages

TYPE_CHECKING = False  # typing's flag without importing typing: ~3 ms of bee run (docs/dev/startup.md)
if TYPE_CHECKING:
    from typing import Any, TypeVar

    from bee.libbpf.ringbuf import Handler

    _T = TypeVar("_T")

ffi = _ffi.ffi

#: Bytes of verifier log kept per program (libbpf's own default size). The buffers are
#: anonymous mappings: pages the kernel never writes cost no memory.
VERIFIER_LOG_SIZE = (1 << 24) - 1

_PROG_WARNING = re.compile(r"prog '([^']+)': (.*)")
#: What libbpf (1.x) logs for a CO-RE relocation that matches no type of the target BTF.
_CORE_UNMATCHED = "no matching targets found"
_MAP_WARNING = re.compile(r"map '([^']+)': (.*)")


class BpfObject:
    """A BPF ELF object. Use `BpfObject.open(...)` and `close()` it (or use it as a context manager)."""

    def __init__(self, ptr: Any, data: Any, name: str) -> None:
        self._ptr = ptr
        self._data = data  # libbpf reads the ELF image in place: keep it alive as long as the object
        self.name = name
        self._state = "opened"  # opened → loaded | failed → closed
        self._links: list[Link] = []
        self._ringbufs: list[RingBuffer] = []
        self._ring_pages: dict[str, RingPages] = {}  # mapped ahead by map_rings(), for ring_buffer()
        self._log_buffers: list[tuple[mmap.mmap, Any]] = []
        #: CO-RE relocations that matched no kernel type at `load()` (their instructions were
        #: patched to fail, or a `bpf_core_*_exists()` check made false); 0 before load.
        self.unmatched_core_relocations = 0
        lib = _ffi.lib()
        self.programs: dict[str, Program] = {}
        prog = lib.bpf_object__next_program(ptr, ffi.NULL)
        while prog != ffi.NULL:
            program = Program(self, prog)
            self.programs[program.name] = program
            prog = lib.bpf_object__next_program(ptr, prog)
        self.maps: dict[str, Map] = {}
        map_ptr = lib.bpf_object__next_map(ptr, ffi.NULL)
        while map_ptr != ffi.NULL:
            bpf_map = Map(self, map_ptr)
            self.maps[bpf_map.name] = bpf_map
            map_ptr = lib.bpf_object__next_map(ptr, map_ptr)

    @classmethod
    def open(cls, data: bytes, name: str, *, btf_custom_path: str | None = None) -> BpfObject:
        """Parse ELF object `data` with libbpf (`bpf_object__open_mem`); nothing reaches the kernel.

        `name` names the object (and prefixes its .data/.bss maps). The object is loaded as it is:
        Bumblebee-style objects (ring buffers with a BTF value type, `.maps.<kind>` sections) need
        `bee.run.fixups` first. `btf_custom_path` names a BTF file that
        `load()` relocates CO-RE against instead of the kernel's (/sys/kernel/btf/vmlinux); libbpf
        still reads the kernel's BTF for programs that attach through it (tp_btf, fentry...).
        Raises LibbpfMissingError, or LibbpfError with libbpf's reason when the object is malformed.
        """
        lib = _ffi.lib()
        buffer = ffi.from_buffer(data)
        c_name = ffi.new("char[]", name.encode())
        opts = ffi.new("struct bpf_object_open_opts *")
        opts.sz = ffi.sizeof("struct bpf_object_open_opts")
        opts.object_name = c_name
        c_btf_path = ffi.new("char[]", btf_custom_path.encode()) if btf_custom_path else ffi.NULL
        opts.btf_custom_path = c_btf_path  # libbpf keeps a copy
        with _ffi.capture_log() as records:
            ptr = lib.bpf_object__open_mem(buffer, len(data), opts)
            code = ffi.errno
        if ptr == ffi.NULL:
            warnings = _ffi.warnings(records)
            reason = warnings[-1] if warnings else describe_errno(code)
            raise LibbpfError(f"libbpf cannot open {name}: {reason}", errno=code,
                              detail="\n".join(warnings) or None)
        _ffi.log_warnings(records)
        return cls(ptr, buffer, name)

    def __repr__(self) -> str:
        return f"<BpfObject {self.name} {self._state}>"

    def __enter__(self) -> BpfObject:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    @property
    def loaded(self) -> bool:
        return self._state == "loaded"

    @property
    def closed(self) -> bool:
        return self._state == "closed"

    def _require_open(self) -> Any:
        if self._ptr is None:
            raise ClosedError(f"BPF object {self.name} is closed")
        return self._ptr

    def program(self, name: str) -> Program:
        """The program called `name`; LibbpfError when there is none."""
        return self._named(self.programs, "program", name)

    def map(self, name: str) -> Map:
        """The map called `name`; LibbpfError when there is none."""
        return self._named(self.maps, "map", name)

    def _named(self, items: dict[str, _T], kind: str, name: str) -> _T:
        self._require_open()
        try:
            return items[name]
        except KeyError:
            raise LibbpfError(f"BPF object {self.name} has no {kind} {name}") from None

    # -- before load --------------------------------------------------------------------------

    # -- load ---------------------------------------------------------------------------------

    def load(self) -> None:
        """Create the maps and load the programs (`bpf_object__load`).

        Sets `unmatched_core_relocations`. Raises VerifierError (the program, its section, errno
        and the verifier log) when the verifier rejects a program, LoadError naming the program
        or map for other failures (missing privileges, unsupported program types, bad
        relocations). A failed load cannot be retried: open the object again.
        """
        ptr = self._require_open()
        if self._state != "opened":
            raise LibbpfError(f"BPF object {self.name} was already loaded (or failed to): open it again")
        lib = _ffi.lib()
        # One log buffer per program rather than the object-wide `kernel_log_buf` of the open
        # options: libbpf loads programs with log level 0 and retries with level 1 only after a
        # failure, so the one buffer that holds text names the rejected program. libbpf keeps
        # the pointers, so the buffers live until close().
        logs: dict[str, Any] = {}
        for program in self.programs.values():
            if program.autoload:
                logs[program.name] = self._log_buffer()
                lib.bpf_program__set_log_buf(program._ptr, logs[program.name], VERIFIER_LOG_SIZE)
        with _ffi.capture_log() as records:
            ret = lib.bpf_object__load(ptr)
        self.unmatched_core_relocations = sum(_CORE_UNMATCHED in text for _, text in records)
        if ret == 0:
            self._state = "loaded"
            _ffi.log_warnings(records)
            return
        self._state = "failed"
        raise self._load_error(-ret, logs, _ffi.warnings(records))

    def _log_buffer(self) -> Any:
        # mmap'd (zero pages on demand) rather than ffi.new, which would write all 16 MiB
        area = mmap.mmap(-1, VERIFIER_LOG_SIZE + 1)
        buffer = ffi.from_buffer("char[]", area)
        self._log_buffers.append((area, buffer))
        return buffer

    def _load_error(self, code: int, logs: dict[str, Any], warnings: list[str]) -> LoadError:
        detail = "\n".join(warnings) or None
        for name, buffer in logs.items():
            if buffer[0] != b"\0":  # only a rejected program's load writes its log
                program = self.programs[name]
                log = ffi.string(buffer, VERIFIER_LOG_SIZE).decode("utf-8", "replace")
                return VerifierError(program.name, program.section, code, log)
        reason = describe_errno(code)
        if code in (E.EPERM, E.EACCES) and system.privilege_problem() is not None:
            reason = f"{reason}; {system.PRIVILEGE_MESSAGE}"
        for warning in warnings:
            found = _PROG_WARNING.match(warning)
            if found and found[1] in self.programs:
                program = self.programs[found[1]]
                return LoadError(f"program {program.name} (section {program.section}) could not be loaded: "
                                 f"{reason}", errno=code, detail=detail, program=program.name,
                                 section=program.section)
            found = _MAP_WARNING.match(warning)
            if found and found[1] in self.maps:
                return LoadError(f"map {found[1]} could not be created: {reason}", errno=code, detail=detail,
                                 map_name=found[1])
        return LoadError(f"loading BPF object {self.name} failed: {reason}", errno=code, detail=detail)

    # -- after load ---------------------------------------------------------------------------

    def map_rings(self, names: list[str]) -> None:
        """Map ahead the pages of these loaded RINGBUF maps, for `ring_buffer()` to read them in place
        (x86-64; elsewhere, or for a map libbpf then reads, nothing is kept). The mapping is the
        slow part of making a ring buffer, and runs here without the GIL: a caller may do it on
        another thread, before `ring_buffer()`. LibbpfError when a map cannot be mapped."""
        self._require_open()
        if not DIRECT_READ:
            return
        for name in names:
            bpf_map = self.map(name)
            if name in self._ring_pages or bpf_map.type != MapType.RINGBUF:
                continue
            try:
                self._ring_pages[name] = RingPages(bpf_map.fd, bpf_map.max_entries)
            except OSError as exc:
                raise LibbpfError(f"cannot read ring buffer {name}: {describe_errno(exc.errno or 0)}",
                                  errno=exc.errno or 0) from exc

    def ring_buffer(self, handlers: Mapping[str | Map, Handler]) -> RingBuffer:
        """A `RingBuffer` over the named RINGBUF maps (name or `Map` → handler), closed with this object.
        Maps whose pages `map_rings()` mapped use them."""
        self._require_open()
        ring = RingBuffer()
        try:
            for source, handler in handlers.items():
                bpf_map = self.map(source) if isinstance(source, str) else source
                ring.add(bpf_map, handler, self._ring_pages.pop(bpf_map.name, None))
        except BaseException:
            ring.close()
            raise
        ring._on_close = self._ringbufs.remove
        self._ringbufs.append(ring)
        return ring

    def _add_link(self, link: Link) -> None:
        link._on_close = self._links.remove
        self._links.append(link)

    @property
    def links(self) -> list[Link]:
        """The links made from this object's programs that are still attached."""
        return list(self._links)

    def close(self) -> None:
        """Destroy links (at the same time, a thread each, but TC filters one by one), free ring
        buffers, close the object and its fds, in that order. Idempotent."""
        if self._ptr is None:
            return
        links = list(reversed(self._links))
        interrupted = _detach_concurrently([link for link in links if not isinstance(link, TcLink)])
        for link in links:
            if isinstance(link, TcLink):  # netlink changes to one interface's qdisc: one at a time
                _close_link(link)
        for ring in reversed(list(self._ringbufs)):
            ring.close()
        for pages in self._ring_pages.values():
            pages.close()
        self._ring_pages.clear()
        ptr, self._ptr = self._ptr, None
        self._state = "closed"
        _ffi.lib().bpf_object__close(ptr)
        for area, buffer in self._log_buffers:
            ffi.release(buffer)
            area.close()
        self._log_buffers.clear()
        self._data = None
        if interrupted is not None:
            raise interrupted


def _close_link(link: Link) -> None:
    try:
        link.close()
    except Exception as exc:  # noqa: BLE001 - closing the rest matters more
        _ffi.logger.warning("closing the link of program %s failed: %s", link.program, exc)


def _detach_concurrently(links: list[Link]) -> KeyboardInterrupt | None:
    """Close `links`, one thread each when there are several, and wait for all of them.

    The kernel detaches a tracepoint, kprobe or tracing link after RCU grace periods (about 70 ms
    each here); detaches running at the same time share them: 16 tracepoint links took 730 ms one
    after the other and 190 ms together. A KeyboardInterrupt while waiting is returned, once every
    link is closed, for the caller to raise when it has closed the rest."""
    if len(links) < 2:
        for link in links:
            _close_link(link)
        return None
    threads = [threading.Thread(target=_close_link, args=(link,), name="bee-detach") for link in links]
    for thread in threads:
        thread.start()
    interrupted: KeyboardInterrupt | None = None
    for thread in threads:
        while thread.is_alive():
            try:
                thread.join()
            except KeyboardInterrupt as exc:
                interrupted = exc
    return interrupted

