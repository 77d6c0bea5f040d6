"""Names the running system gives to numbers a program records, for bee's label typedefs (solo_types.h):

- `ksym_t`    a kernel address → the kernel symbol it falls in (from /proc/kallsyms), as `name` or
              `name+0x1f`; `0x...` when kallsyms hides addresses (kptr_restrict, not root) or has none;
- `errno_t`   an error number, negative as the kernel returns it or positive → its name (`ENOENT`);
- `ifindex_t` a network interface index → the interface's name (`lo`);
- `syscall_t` a system call number → its name on this machine's architecture (`openat`);
- `cgroup_t`  a cgroup v2 id (`bpf_get_current_cgroup_id()`) → the cgroup's path under the cgroup2
              mount (`/system.slice/cron.service`), found in /proc/self/mountinfo; the number on a
              machine with no cgroup2 mounted (cgroup v1 only).

Each lookup is cached; a number without a name is shown as the number. Read from /proc and /sys at decode
time, in user space: nothing here needs the BPF system call.
"""

from __future__ import annotations

import bisect
import os
import threading
import time

KALLSYMS = "/proc/kallsyms"
MOUNTINFO = "/proc/self/mountinfo"
RESCAN_AFTER = 5.0  # seconds between two scans of the cgroup tree for ids not found

_lock = threading.Lock()
_symbols: tuple[list[int], list[str]] | None = None
_interfaces: dict[int, str] = {}
_cgroups: dict[int, str] = {}
_cgroups_scanned = 0.0
_syscalls: dict[int, str] | None = None
SYSCALL_TABLES = os.path.join(os.path.dirname(__file__), "syscalls")


def errno_name(value: int) -> str:
    """`ENOENT` for -2 or 2; the number itself when it is 0 or no error has it."""
    import errno  # a dict of names, imported by the first event that has one

    return errno.errorcode.get(abs(value), str(value)) if value else "0"


def _load_symbols() -> tuple[list[int], list[str]]:
    addresses: list[int] = []
    names: list[str] = []
    try:
        with open(KALLSYMS, encoding="ascii", errors="replace") as symbols:
            entries = []
            for line in symbols:
                parts = line.split()
                if len(parts) >= 3 and parts[1] in "tTwW":  # code: text and weak symbols
                    address = int(parts[0], 16)
                    if address:
                        entries.append((address, parts[2]))
    except OSError:
        entries = []
    entries.sort()
    for address, name in entries:
        addresses.append(address)
        names.append(name)
    return addresses, names


def _symbol(address: int) -> tuple[str, int] | None:
    """(name, offset) of the kernel symbol `address` falls in; None below the first or for 0."""
    global _symbols
    if _symbols is None:
        with _lock:
            if _symbols is None:
                _symbols = _load_symbols()
    addresses, names = _symbols
    at = bisect.bisect_right(addresses, address) - 1
    if at < 0 or not address:
        return None
    return names[at], address - addresses[at]


def ksym(address: int) -> str:
    """The kernel symbol `address` falls in: its name at the symbol's start, else `name+0xOFF`."""
    found = _symbol(address)
    if found is None:
        return hex(address)
    name, offset = found
    return name if offset == 0 else f"{name}+{offset:#x}"


def ksym_name(address: int) -> str:
    """The name of the kernel symbol `address` falls in, without the offset (a stack's frame); hex when none."""
    found = _symbol(address)
    return hex(address) if found is None else found[0]


def syscall_name(number: int) -> str:
    """The name of system call `number` on this machine's architecture (`openat` for 257 on x86_64), from
    bee's table of it (bee/decode/syscalls/<machine>.txt, made from Linux 6.1's headers); the number for a
    call newer than the table, a negative number or an architecture without a table."""
    global _syscalls
    if _syscalls is None:
        with _lock:
            if _syscalls is None:
                _syscalls = _load_syscalls(os.uname().machine)
    return _syscalls.get(number) or str(number)


def _load_syscalls(machine: str) -> dict[int, str]:
    path = os.path.join(SYSCALL_TABLES, f"{machine}.txt")
    try:
        with open(path, encoding="ascii") as table:
            return {int(number): name for number, name in
                    (line.split() for line in table if line.strip() and not line.startswith("#"))}
    except OSError:
        return {}


def ifname(index: int) -> str:
    """The name of network interface `index` (`lo`), cached; the number when there is none (any more)."""
    name = _interfaces.get(index)
    if name is None:
        import socket

        try:
            name = socket.if_indextoname(index)
        except (OSError, OverflowError, ValueError):
            return str(index)  # not cached: an interface may appear later with this index
        _interfaces[index] = name
    return name


def cgroup2_mount() -> str | None:
    """Where the cgroup v2 hierarchy is mounted (the first cgroup2 mount of /proc/self/mountinfo), or None."""
    try:
        with open(MOUNTINFO, encoding="utf-8", errors="replace") as mounts:
            for line in mounts:
                fields, _, rest = line.partition(" - ")
                if rest.split(" ", 1)[0] == "cgroup2":
                    return fields.split()[4].replace("\\040", " ")
    except OSError:
        pass
    return None


def _scan_cgroups() -> None:
    """Map every cgroup directory's inode number (its cgroup v2 id) to its path under the cgroup2 mount."""
    global _cgroups_scanned
    _cgroups_scanned = time.monotonic()
    root = cgroup2_mount()
    if root is None:
        return
    for directory, _, _ in os.walk(root):
        try:
            inode = os.stat(directory).st_ino
        except OSError:
            continue
        _cgroups[inode] = directory[len(root):] or "/"


def cgroup_path(cgroup_id: int) -> str:
    """The path of cgroup v2 `cgroup_id` under the cgroup2 mount (`/` for the root), cached; the tree is
    scanned again for an unknown id at most every RESCAN_AFTER seconds; the number when not found."""
    path = _cgroups.get(cgroup_id)
    if path is None:
        with _lock:
            stale = not _cgroups_scanned or time.monotonic() - _cgroups_scanned > RESCAN_AFTER
            if cgroup_id not in _cgroups and stale:
                _scan_cgroups()
        path = _cgroups.get(cgroup_id)
    return path if path is not None else str(cgroup_id)
