"""What the running kernel and process can do: BTF, privileges, tracefs, kprobes, bpffs, BPF statistics.

Plain reads of /proc and /sys (no libbpf), except `ensure_tracefs` and `ensure_bpffs`, which mount
tracefs and the BPF filesystem.
"""

from __future__ import annotations

import errno
import os
from pathlib import Path

from bee.libbpf import _ffi

VMLINUX_BTF = Path("/sys/kernel/btf/vmlinux")
TRACEFS = Path("/sys/kernel/tracing")
DEBUGFS_TRACING = Path("/sys/kernel/debug/tracing")
KPROBE_PMU = Path("/sys/bus/event_source/devices/kprobe")
BPFFS = Path("/sys/fs/bpf")
#: 1 while BPF run-time statistics were turned on through it (not through BPF_ENABLE_STATS: `bee.libbpf.stats`).
BPF_STATS_SYSCTL = Path("/proc/sys/kernel/bpf_stats_enabled")

# capability numbers (linux/capability.h)
CAP_NET_ADMIN = 12
CAP_SYS_ADMIN = 21
CAP_PERFMON = 38
CAP_BPF = 39

PRIVILEGE_MESSAGE = "bee run needs root or CAP_BPF+CAP_PERFMON (and CAP_NET_ADMIN for XDP/TC)"
CAPABILITY_NAMES = {CAP_NET_ADMIN: "CAP_NET_ADMIN", CAP_PERFMON: "CAP_PERFMON", CAP_BPF: "CAP_BPF"}


def kernel_has_btf() -> bool:
    """True when the kernel exposes its own BTF (needed for CO-RE, tp_btf and vmlinux.h)."""
    return VMLINUX_BTF.exists()


def is_root() -> bool:
    """True when the effective user is root."""
    return os.geteuid() == 0


def effective_capabilities(status: str | None = None) -> int:
    """The CapEff bit mask of this process (from /proc/self/status, or the given text of such a file)."""
    if status is None:
        try:
            status = Path("/proc/self/status").read_text()
        except OSError:
            return 0
    for line in status.splitlines():
        if line.startswith("CapEff:"):
            return int(line.split()[1], 16)
    return 0


def has_capability(cap: int, capabilities: int | None = None) -> bool:
    """True when capability number `cap` is effective."""
    mask = effective_capabilities() if capabilities is None else capabilities
    return bool(mask >> cap & 1)


def privilege_problem(*, network: bool = False, capabilities: int | None = None,
                      root: bool | None = None) -> str | None:
    """None when this process may load and attach BPF programs, else the sentence to show: for root (`root`,
    default: this process's euid) the capabilities it lacks by name and how a container grants them.

    CAP_SYS_ADMIN covers everything; otherwise CAP_BPF and CAP_PERFMON are needed, and
    CAP_NET_ADMIN too when `network` programs (XDP, TC) are attached.
    """
    mask = effective_capabilities() if capabilities is None else capabilities
    if has_capability(CAP_SYS_ADMIN, mask):
        return None
    needed = [CAP_BPF, CAP_PERFMON] + ([CAP_NET_ADMIN] if network else [])
    missing = [cap for cap in needed if not has_capability(cap, mask)]
    if not missing:
        return None
    if (root if root is not None else is_root()):
        # root without them: a container's root has only the capabilities it was given
        names = [CAPABILITY_NAMES[cap] for cap in missing]
        flags = " ".join(f"--cap-add {name.removeprefix('CAP_')}" for name in names)
        net = " --cap-add NET_ADMIN" if CAP_NET_ADMIN in missing else ""
        return (f"bee run needs {' and '.join(names)}, which this process lacks although it runs as root (in a "
                f"container, root has only the capabilities it was given: docker run {flags}, or --cap-add "
                f"SYS_ADMIN{net} on Docker 20.10, which knows no CAP_BPF; securityContext.capabilities.add in "
                "Kubernetes)")
    return PRIVILEGE_MESSAGE


def tracefs_mounted() -> bool:
    """True when tracepoint ids can be read (tracefs at /sys/kernel/tracing, or debugfs's tracing)."""
    return (TRACEFS / "events").is_dir() or (DEBUGFS_TRACING / "events").is_dir()


def ensure_tracefs() -> bool:
    """Mount tracefs at /sys/kernel/tracing when it is missing and we may (root); True when usable.

    Tracepoint attach reads `events/<category>/<name>/id` there; a fresh boot of these machines
    has no tracefs mounted. Never raises: the caller reports the attach failure.
    """
    if tracefs_mounted():
        return True
    return _mount_if_allowed("none", TRACEFS, "tracefs") and tracefs_mounted()


def kprobes_supported() -> bool:
    """True when the kernel can create kprobes (the kprobe PMU, or tracefs' kprobe_events)."""
    return KPROBE_PMU.exists() or (TRACEFS / "kprobe_events").exists() or (
        DEBUGFS_TRACING / "kprobe_events").exists()


def bpf_stats_sysctl(path: Path = BPF_STATS_SYSCTL) -> int | None:
    """The value of the sysctl `kernel.bpf_stats_enabled` (0 or 1); None when the kernel has none (before
    5.1) or it cannot be read."""
    try:
        return int(path.read_text().strip())
    except (OSError, ValueError):
        return None


def bpffs_mounted(path: Path = BPFFS) -> bool:
    """True when `path` is on a BPF filesystem, where maps and programs can be pinned."""
    try:
        target = os.path.realpath(path)
        mountinfo = Path("/proc/self/mountinfo").read_text()
    except OSError:
        return False
    fstype = ""
    best = -1
    for line in mountinfo.splitlines():
        left, _, right = line.partition(" - ")
        fields = left.split()
        if len(fields) < 5 or not right:
            continue
        point = fields[4].replace("\\040", " ")
        inside = target == point or target.startswith(point.rstrip("/") + "/")
        if inside and len(point) >= best:  # the longest, and among equals the last (top) mount
            best, fstype = len(point), right.split()[0]
    return fstype == "bpf"


def ensure_bpffs(path: Path) -> bool:
    """Mount a BPF filesystem at /sys/fs/bpf when `path` lies under it, none is mounted there, and
    we may (CAP_SYS_ADMIN), as bpftool does before pinning; True when `path` is then on a BPF
    filesystem. Never raises: pinning reports its own failure."""
    if bpffs_mounted(path):
        return True
    target = os.path.realpath(path)
    if not (target == str(BPFFS) or target.startswith(f"{BPFFS}/")):
        return False
    return _mount_if_allowed("bpf", BPFFS, "bpf") and bpffs_mounted(path)


def _mount_if_allowed(source: str, target: Path, fstype: str) -> bool:
    """Mount `fstype` at `target` when we hold CAP_SYS_ADMIN; False when we may not or it fails
    (EBUSY, someone mounted it meanwhile, counts as done)."""
    if not has_capability(CAP_SYS_ADMIN):
        return False
    try:
        _mount(source, str(target), fstype)
    except OSError as exc:
        if exc.errno != errno.EBUSY:
            return False
    return True


def _mount(source: str, target: str, fstype: str) -> None:
    libc = _ffi.libc()
    if libc.mount(source.encode(), target.encode(), fstype.encode(), 0, _ffi.ffi.NULL) != 0:
        err = _ffi.ffi.errno
        raise OSError(err, os.strerror(err), target)
