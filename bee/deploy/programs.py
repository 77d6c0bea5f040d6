"""The programs a cluster's runners are given: references a node can pull, and whether they need the host network.

A Kubernetes node cannot read this machine's files or local store, so every program must be a reference that
names a registry (`ghcr.io/me/probe:v1`); anything else is refused with one sentence saying to push it first.
Whether a program attaches XDP/TC (and so needs CAP_NET_ADMIN and the host's interfaces) is read from its spec
when the reference is also in the local store; otherwise only `network=True` (`--network`) or an `iface` in the
runner config says so.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from bee.errors import BeeError, UsageError
from bee.oci.reference import parse_reference

__all__ = ["DeployedProgram", "check_program"]


@dataclass(frozen=True, slots=True)
class DeployedProgram:
    """One program for the cluster: its reference and whether it attaches to network interfaces."""

    ref: str
    network: bool


def check_program(program: str, store_root: Path, *, network: bool = False) -> DeployedProgram:
    """`program` checked for a cluster: UsageError (one sentence) for a file or a reference naming no registry,
    InvalidReferenceError for an invalid one; `network` is True when asked or when its stored spec has XDP/TC."""
    if Path(program).is_file() or program.endswith(".o"):
        raise UsageError(f"{program} is a file, which a Kubernetes node cannot read: store it with `bee build` "
                         f"under a reference naming a registry and `bee push` it first")
    reference = parse_reference(program)
    if reference.registry is None:
        raise UsageError(f"{program} names no registry, so a Kubernetes node cannot pull it: push it first "
                         f"(`bee tag {program} ghcr.io/<owner>/{program}`, then `bee push`) and name that reference")
    return DeployedProgram(program, network or _stored_needs_network(program, store_root))


def _stored_needs_network(ref: str, store_root: Path) -> bool:
    """True when `ref` is in the local store and one of its programs attaches XDP/TC; False when not stored."""
    from bee.elf.spec import load_spec
    from bee.oci.store import LocalStore
    from bee.run.prepare import INTERFACE_KINDS

    store = LocalStore(store_root)
    if not store.present():  # StoreError when it cannot be looked at: the answer might be True
        return False
    try:
        data = store.program_bytes(store.resolve(ref))
    except BeeError:
        return False  # not stored here: only --network or a config's iface can say
    return any(p.kind in INTERFACE_KINDS for p in load_spec(data, name=ref).programs)
