"""Load: the checks that need the running system, and one object's load on a thread of its own.

`check_privileges` runs before anything reaches the kernel. `Loading` opens a prepared program with
libbpf and loads it on the `bee-load` thread, so that the caller's Python work (binding the metrics
port, compiling decoders, importing the sinks) overlaps libbpf's C work and the verifier. Kernel
minimum: what the object needs (ring buffers: 5.8); libbpf >= 1.0.
"""

from __future__ import annotations

import sys
import threading
from pathlib import Path

from bee.elf.spec import KERNEL_BTF_KINDS, ObjectSpec
from bee.errors import BeeError
from bee.log import get as get_logger
from bee.run.errors import RunError
from bee.run.prepare import PreparedProgram

TYPE_CHECKING = False  # typing.TYPE_CHECKING without importing typing: see docs/dev/startup.md
if TYPE_CHECKING:
    from bee.libbpf.object import BpfObject
    from bee.params import RodataImage
    from bee.run.btfcache import Filler

log = get_logger("bee.run")

#: Seconds between thread switches while an object loads (see `Loading`).
_SWITCH_INTERVAL = 0.0002


def _mount_types(mountinfo: str) -> dict[str, str]:
    """Mount point → file system type, from the text of /proc/self/mountinfo (later mounts win)."""
    types: dict[str, str] = {}
    for line in mountinfo.splitlines():
        fields = line.split()
        if " - " not in line or len(fields) < 5:
            continue
        point = fields[4].replace("\\040", " ").replace("\\011", "\t").replace("\\134", "\\")
        types[point] = line.split(" - ", 1)[1].split()[0]
    return types


def check_pin_dir(path: Path, flag: str, mountinfo: str | None = None) -> None:
    """RunError unless `path` (or, when it does not exist yet, its nearest existing directory) is on a
    BPF file system: the kernel pins objects only there (it answers EINVAL elsewhere). Checked before
    anything is loaded. `mountinfo`: the text of /proc/self/mountinfo (read when None)."""
    import os

    if mountinfo is None:
        try:
            with open("/proc/self/mountinfo") as file:
                mountinfo = file.read()
        except OSError:
            return  # cannot tell: the kernel's answer stays the last word
    where = Path(os.path.abspath(path))
    while not where.exists() and where != where.parent:
        where = where.parent
    if where.exists() and not where.is_dir():
        raise RunError(f"{flag} {path}: {where} is not a directory; give a directory on the BPF file system "
                       "(e.g. /sys/fs/bpf/NAME)")
    real = os.path.realpath(where)
    types = _mount_types(mountinfo)
    point = max((p for p in types if real == p or real.startswith(p.rstrip("/") + "/")), key=len, default="/")
    fstype = types.get(point, "unknown")
    if fstype != "bpf" and _mounted_at_pin_time(real, point):
        return
    if fstype != "bpf":
        raise RunError(f"{flag} {path} is not on a BPF file system ({point} is {fstype}); the kernel pins maps and "
                       "programs only under a bpffs mount: use a directory under /sys/fs/bpf (mount it with "
                       "`mount -t bpf bpf /sys/fs/bpf` if it is missing)")


#: Where bee mounts a BPF file system itself when none is there (`bee.libbpf.system.ensure_bpffs`).
_BPFFS = "/sys/fs/bpf"


def _mounted_at_pin_time(real: str, point: str) -> bool:
    """True when `real` lies under /sys/fs/bpf and nothing is mounted there yet: bee mounts bpffs there
    before it pins (as bpftool does), so the path will be on a BPF file system."""
    return (real == _BPFFS or real.startswith(_BPFFS + "/")) and len(point) < len(_BPFFS)


def check_privileges(spec: ObjectSpec, *, network: bool) -> None:
    """RunError before the kernel is touched: missing privileges (CAP_NET_ADMIN too when `network`),
    or an object that needs the kernel's BTF (CO-RE relocations, tp_btf/fentry/fexit/lsm/iter/struct_ops
    programs) on a kernel without it. An object that needs no kernel BTF runs on such a kernel silently."""
    from bee.libbpf import system

    problem = system.privilege_problem(network=network)
    if problem:
        raise RunError(problem)
    if not system.kernel_has_btf():
        needs = spec.kernel_btf_needs()
        if needs:
            more = f" (and {len(needs) - 1} more like it)" if len(needs) > 1 else ""
            raise RunError(f"{needs[0]}{more}, which needs the kernel's BTF, but this kernel has none "
                           f"({system.VMLINUX_BTF} is missing): the kernel must be built with "
                           "CONFIG_DEBUG_INFO_BTF=y")


def btf_cache_entry(spec: ObjectSpec, data: bytes) -> Path | None:
    """The `bee.run.btfcache` entry for `data`, for objects whose only use of the kernel's BTF is CO-RE
    (libbpf reads all of it anyway for tp_btf, fentry... programs); None for the others."""
    from bee.elf.btf_ext import core_relocations
    from bee.errors import ElfError

    if any(p.kind in KERNEL_BTF_KINDS for p in spec.programs):
        return None
    try:
        if not core_relocations(spec.elf, spec.btf):
            return None
    except ElfError:  # libbpf ignores a .BTF.ext it cannot read
        return None
    from bee.libbpf import libbpf_version
    from bee.run import btfcache

    return btfcache.entry_for(data, ".".join(map(str, libbpf_version())))


def set_rodata(obj: BpfObject, rodata: RodataImage) -> None:
    """Before load: give the `.rodata` map of `obj` (the internal map whose BTF value type is the `.rodata`
    DATASEC) the bytes of `rodata`. RunError when the object has no such map; LibbpfError when libbpf
    refuses the bytes."""
    for bpf_map in obj.maps.values():
        if bpf_map.is_internal and bpf_map.btf_value_type_id == rodata.datasec_id:
            bpf_map.set_initial_value(rodata.data)
            return
    raise RunError(f"{obj.name} has parameters but libbpf made no .rodata map for them")


class Loading:
    """A prepared program opened here and loaded into the kernel on a thread of its own (`bee-load`).

    libbpf's load (kernel BTF parsing for CO-RE, map creation, verifier) spends its time in C and in
    the kernel, without the GIL, so it overlaps the Python work the caller does meanwhile.
    `result()` waits and hands over the loaded object, which the caller then closes; `close()` waits
    and closes it unless it was handed over. Either must be called. While the load runs, the
    interpreter switches threads every `_SWITCH_INTERVAL` seconds rather than every 5 ms, so that
    libbpf's log callbacks (Python, on the loading thread) do not wait behind the caller's work.
    """

    def __init__(self, prepared: PreparedProgram, rings: list[str] | None = None) -> None:
        """Open `prepared.data` (no kernel; LibbpfError when libbpf cannot parse it), give it the `.rodata`
        of its parameters (`prepared.rodata`, see `set_rodata`), and start loading it.

        When the object's `bee.run.btfcache` entry holds a minimal kernel BTF, CO-RE is relocated
        against it, and the load is done again against the kernel's own BTF when a relocation does
        not match it or the load fails. The pages of the ring-buffer maps named in `rings` are mapped
        after the load, on the same thread (`BpfObject.map_rings`)."""
        self._data, self._name, self._rodata = prepared.data, prepared.source.name, prepared.rodata
        self._cache = btf_cache_entry(prepared.spec, prepared.data)
        self._rings = rings or []
        self._custom_btf: str | None = None
        if self._cache is not None:
            from bee.run import btfcache

            self._custom_btf = btfcache.usable(self._cache)
        self._fill = False
        obj = self._open(self._custom_btf)
        self._obj: BpfObject | None = obj
        self._error: BaseException | None = None
        self._switch_interval: float | None = sys.getswitchinterval()
        sys.setswitchinterval(min(self._switch_interval, _SWITCH_INTERVAL))
        self._thread = threading.Thread(target=self._load, args=(obj,), name="bee-load", daemon=True)
        try:
            self._thread.start()
        except BaseException:
            self.close()
            raise

    def _open(self, btf_custom_path: str | None) -> BpfObject:
        """The object opened, with the `.rodata` its parameters give (closed again when that fails)."""
        from bee.libbpf.object import BpfObject

        obj = BpfObject.open(self._data, self._name, btf_custom_path=btf_custom_path)
        if self._rodata is not None:
            try:
                set_rodata(obj, self._rodata)
            except BaseException:
                obj.close()
                raise
        return obj

    def _load(self, obj: BpfObject) -> None:
        try:
            self._load_object(obj)
            assert self._obj is not None
            self._obj.map_rings(self._rings)
        except BaseException as exc:  # noqa: BLE001 - handed to the waiting thread
            self._error = exc

    def _load_object(self, obj: BpfObject) -> None:
        if self._custom_btf is None:
            obj.load()
            self._fill = (self._cache is not None and not obj.unmatched_core_relocations
                          and not self._cache.exists())  # an empty entry says "never"
            return
        try:
            obj.load()
            if not obj.unmatched_core_relocations:
                return
            reason = f"{obj.unmatched_core_relocations} CO-RE relocations matched none of its types"
        except BeeError as exc:
            reason = str(exc)
        log.debug("loading against the minimal BTF %s failed (%s): loading against the kernel's", self._custom_btf,
                  reason)
        obj.close()
        obj = self._obj = self._open(None)
        obj.load()
        if self._cache is not None:
            from bee.run import btfcache

            btfcache.mark_unusable(self._cache)

    def _wait(self) -> None:
        """Join the loading thread; a KeyboardInterrupt meanwhile is re-raised only once it ended."""
        interrupted: KeyboardInterrupt | None = None
        while self._thread.is_alive():
            try:
                self._thread.join()
            except KeyboardInterrupt as exc:
                interrupted = exc
        if self._switch_interval is not None:
            sys.setswitchinterval(self._switch_interval)
            self._switch_interval = None
        if interrupted is not None:
            self.close()
            raise interrupted

    def result(self) -> BpfObject:
        """The loaded object, now the caller's to close; the load's error (VerifierError, LoadError...)
        with the object closed."""
        self._wait()
        obj, self._obj = self._obj, None
        if obj is None:
            raise RunError("the BPF object was already handed over or closed")
        if self._error is not None:
            obj.close()
            raise self._error
        return obj

    def cache_filler(self) -> Filler | None:
        """A `btfcache.Filler` to start once the run is attached (to `stop()` when it ends), or None:
        only after a load against the kernel's own BTF that matched every CO-RE relocation."""
        if not self._fill or self._cache is None:
            return None
        from bee.run import btfcache

        return btfcache.Filler(self._data, self._cache)

    def close(self) -> None:
        """Wait for the load and close the object unless `result()` handed it over. Idempotent."""
        self._wait()
        obj, self._obj = self._obj, None
        if obj is not None:
            obj.close()
