"""Numbers from the kernel's BPF UAPI that callers of `bee.libbpf` compare against.

Program and map types are plain ints on the wrappers (a newer kernel may report a type
this list lacks); these enums name the ones bee cares about.
"""

from __future__ import annotations

from enum import IntEnum, IntFlag


class ProgType(IntEnum):
    """`enum bpf_prog_type` (subset)."""

    UNSPEC = 0
    SOCKET_FILTER = 1
    KPROBE = 2
    SCHED_CLS = 3
    SCHED_ACT = 4
    TRACEPOINT = 5
    XDP = 6
    PERF_EVENT = 7
    CGROUP_SKB = 8
    CGROUP_SOCK = 9
    SOCK_OPS = 13
    SK_SKB = 14
    CGROUP_DEVICE = 15
    SK_MSG = 16
    RAW_TRACEPOINT = 17
    CGROUP_SOCK_ADDR = 18
    CGROUP_SYSCTL = 23
    CGROUP_SOCKOPT = 25
    TRACING = 26
    LSM = 29


class MapType(IntEnum):
    """`enum bpf_map_type` (subset)."""

    HASH = 1
    ARRAY = 2
    PROG_ARRAY = 3
    PERF_EVENT_ARRAY = 4
    PERCPU_HASH = 5
    PERCPU_ARRAY = 6
    LRU_HASH = 9
    LRU_PERCPU_HASH = 10
    LPM_TRIE = 11
    PERCPU_CGROUP_STORAGE = 21
    QUEUE = 22
    STACK = 23
    RINGBUF = 27


#: Map types whose lookups return one value per possible CPU, each rounded up to 8 bytes.
PERCPU_MAP_TYPES = frozenset({MapType.PERCPU_HASH, MapType.PERCPU_ARRAY, MapType.LRU_PERCPU_HASH,
                              MapType.PERCPU_CGROUP_STORAGE})


class UpdateFlags(IntFlag):
    """`bpf_map_update_elem` flags."""

    ANY = 0
    NOEXIST = 1
    EXIST = 2


class XdpFlags(IntFlag):
    """`XDP_FLAGS_*` attach modes (`linux/if_link.h`); 0 lets the kernel choose."""

    AUTO = 0
    SKB_MODE = 1 << 1
    DRV_MODE = 1 << 2
    HW_MODE = 1 << 3


class XdpAction(IntEnum):
    """Return codes of an XDP program."""

    ABORTED = 0
    DROP = 1
    PASS = 2
    TX = 3
    REDIRECT = 4


# libbpf's enum bpf_tc_attach_point
TC_INGRESS = 1 << 0
TC_EGRESS = 1 << 1

# enum bpf_attach_type
BPF_XDP = 37
