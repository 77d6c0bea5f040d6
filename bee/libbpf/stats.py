"""BPF run-time statistics: turning the kernel's per-program counters on, and reading them.

The kernel counts, per loaded BPF program, how many times it ran and how long it ran in all
(`run_cnt` and `run_time_ns` of `struct bpf_prog_info`, Linux 5.1), but only while statistics are
enabled: timing every run costs two clock reads, so they are off by default.

`enable_run_time_stats()` enables them, preferring the BPF_ENABLE_STATS command of the bpf syscall
(Linux 5.8, libbpf's `bpf_enable_stats`): it gives a file descriptor, and the kernel counts while
any such descriptor is open, so closing it (or the process ending, however it ends) undoes it. The
sysctl `kernel.bpf_stats_enabled` does not show this (it reads 1 only when written 1). On a kernel
without the command (EINVAL), it writes 1 to that sysctl instead, and `StatsSwitch.close()` writes
0 back: a crash then leaves statistics on. `read_run_stats(fd)` reads one program's counters.

Not on `bee run`'s start-up path (docs/dev/startup.md): imported only when statistics are asked for.
"""

from __future__ import annotations

import contextlib
import errno
import os
from dataclasses import dataclass
from pathlib import Path

from bee.libbpf import _ffi, system
from bee.libbpf.errors import LibbpfError, StatsUnavailableError, describe_errno

#: `enum bpf_stats_type`: the one kind of statistics the kernel knows.
BPF_STATS_RUN_TIME = 0

#: How a `StatsSwitch` keeps statistics on.
BY_FD, BY_SYSCTL, ALREADY_ON = "fd", "sysctl", "already on"


@dataclass(frozen=True, slots=True)
class RunStats:
    """What the kernel counted of one BPF program (id `prog_id`) while statistics were on."""

    prog_id: int
    runs: int
    run_time_ns: int

    @property
    def ns_per_run(self) -> float | None:
        """The mean run time in nanoseconds; None before the first run."""
        return self.run_time_ns / self.runs if self.runs else None


class StatsSwitch:
    """Keeps the kernel's BPF run-time statistics on until `close()` (idempotent; a context manager).

    `how` says how: BY_FD (a BPF_ENABLE_STATS descriptor, owned and closed here), BY_SYSCTL (bee
    wrote 1 to `sysctl`; `close()` writes 0 back) or ALREADY_ON (the sysctl was on already: nothing
    to undo)."""

    def __init__(self, how: str, *, fd: int = -1, sysctl: Path | None = None) -> None:
        self.how = how
        self._fd = fd
        self._sysctl = sysctl

    def close(self) -> None:
        """Let the kernel stop counting (unless someone else keeps statistics on). Never raises: a
        sysctl that cannot be written back is left as it is."""
        fd, sysctl = self._fd, self._sysctl
        self._fd, self._sysctl = -1, None
        if fd >= 0:
            os.close(fd)
        if sysctl is not None:
            with contextlib.suppress(OSError):
                sysctl.write_text("0\n")

    def __enter__(self) -> StatsSwitch:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def enable_run_time_stats(sysctl: Path = system.BPF_STATS_SYSCTL) -> StatsSwitch:
    """Turn the kernel's BPF run-time statistics on until the returned switch is closed.

    Kernel minimum: 5.8 for BPF_ENABLE_STATS, else 5.1 with the sysctl `sysctl`. Needs CAP_SYS_ADMIN
    unless the sysctl is on already. Raises StatsUnavailableError (with the errno) when the kernel
    cannot count run time or this process may not turn it on."""
    fd = int(_ffi.lib().bpf_enable_stats(BPF_STATS_RUN_TIME))
    if fd >= 0:
        return StatsSwitch(BY_FD, fd=fd)
    return fallback(-fd, sysctl)


def fallback(code: int, sysctl: Path) -> StatsSwitch:
    """What `enable_run_time_stats` does once BPF_ENABLE_STATS failed with errno `code`: use the sysctl
    when it is on already, or when the kernel lacks the command (EINVAL) and the sysctl can be turned on;
    else StatsUnavailableError naming the reason."""
    current = system.bpf_stats_sysctl(sysctl)
    if current:
        return StatsSwitch(ALREADY_ON)
    if code == errno.EPERM or code == errno.EACCES:
        raise StatsUnavailableError("turning BPF run-time statistics on needs CAP_SYS_ADMIN", errno=code)
    if code != errno.EINVAL:
        raise StatsUnavailableError(f"the kernel refused to turn BPF run-time statistics on: {describe_errno(code)}",
                                    errno=code)
    if current is None:
        raise StatsUnavailableError("this kernel cannot count the run time of BPF programs (BPF_ENABLE_STATS needs "
                                    f"Linux 5.8, and there is no {sysctl})", errno=code)
    try:
        sysctl.write_text("1\n")
    except OSError as exc:
        raise StatsUnavailableError(f"this kernel has no BPF_ENABLE_STATS (Linux 5.8), and {sysctl} cannot be "
                                    f"turned on: {exc.strerror or exc}", errno=exc.errno or code) from exc
    return StatsSwitch(BY_SYSCTL, sysctl=sysctl)


def read_run_stats(prog_fd: int) -> RunStats:
    """The counters of the loaded BPF program `prog_fd` (zero while statistics were never on).
    Raises LibbpfError when the kernel refuses `BPF_OBJ_GET_INFO_BY_FD` (a descriptor that is not a
    program's)."""
    ffi = _ffi.ffi
    info = ffi.new("struct bpf_prog_info *")
    size = ffi.new("__u32 *", ffi.sizeof("struct bpf_prog_info"))
    ret = int(_ffi.lib().bpf_obj_get_info_by_fd(prog_fd, info, size))
    if ret < 0:
        raise LibbpfError(f"cannot read the run-time statistics of a BPF program: {describe_errno(-ret)}",
                          errno=-ret)
    return RunStats(int(info.id), int(info.run_cnt), int(info.run_time_ns))
