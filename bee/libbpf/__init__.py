"""bee's interface to libbpf (>= 1.0, through cffi): open, load, attach, read maps and ring buffers.

The only package of bee that touches cffi; everything it returns is a plain Python object.
`BpfObject` owns the programs, maps, links and ring buffers made from it and closes them
in reverse order (links → ring buffers → object). Errors are `LibbpfError`s (`bee.errors.BeeError`).

Imports `bee.errors`, `bee.records` and `bee.log` only; `bee.run` (and the tests) import it, never
`bee.elf` or `bee.decode` (checked by import-linter). On `bee run`'s start-up path (docs/dev/startup.md).
"""

from __future__ import annotations

from bee.libbpf import _ffi
from bee.libbpf.constants import MapType, ProgType, UpdateFlags, XdpAction, XdpFlags
from bee.libbpf.errors import (
    AttachError,
    ClosedError,
    KprobesUnsupportedError,
    LibbpfError,
    LibbpfMissingError,
    LoadError,
    NeedsTargetError,
    VerifierError,
)
from bee.libbpf.link import Link
from bee.libbpf.map import Map
from bee.libbpf.object import BpfObject
from bee.libbpf.program import Program, TestRunResult
from bee.libbpf.ringbuf import RingBuffer
from bee.libbpf.system import (
    PRIVILEGE_MESSAGE,
    bpffs_mounted,
    effective_capabilities,
    ensure_bpffs,
    ensure_tracefs,
    has_capability,
    is_root,
    kernel_has_btf,
    kprobes_supported,
    privilege_problem,
    tracefs_mounted,
)


def libbpf_version() -> tuple[int, int]:
    """(major, minor) of the libbpf.so.1 in use; raises LibbpfMissingError when it is absent."""
    return _ffi.version()


__all__ = [
    "PRIVILEGE_MESSAGE",
    "AttachError",
    "BpfObject",
    "ClosedError",
    "KprobesUnsupportedError",
    "LibbpfError",
    "LibbpfMissingError",
    "Link",
    "LoadError",
    "Map",
    "MapType",
    "NeedsTargetError",
    "ProgType",
    "Program",
    "RingBuffer",
    "TestRunResult",
    "UpdateFlags",
    "VerifierError",
    "XdpAction",
    "XdpFlags",
    "bpffs_mounted",
    "effective_capabilities",
    "ensure_bpffs",
    "ensure_tracefs",
    "has_capability",
    "is_root",
    "kernel_has_btf",
    "kprobes_supported",
    "libbpf_version",
    "privilege_problem",
    "tracefs_mounted",
]
