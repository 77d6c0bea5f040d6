"""What the kernel and process can do: capabilities, BTF, bpffs, tracefs."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from bee.libbpf import (
    PRIVILEGE_MESSAGE,
    bpffs_mounted,
    effective_capabilities,
    ensure_bpffs,
    has_capability,
    is_root,
    kernel_has_btf,
    privilege_problem,
)
from bee.libbpf.system import CAP_BPF, CAP_NET_ADMIN, CAP_PERFMON, CAP_SYS_ADMIN, tracefs_mounted

STATUS = "Name:\tbee\nCapInh:\t0000000000000000\nCapPrm:\t000001ffffffffff\nCapEff:\t{:016x}\n"


def caps(*numbers: int) -> int:
    return sum(1 << n for n in numbers)


def test_capabilities_are_read_from_the_status_text() -> None:
    assert effective_capabilities(STATUS.format(caps(CAP_BPF, CAP_PERFMON))) == caps(CAP_BPF, CAP_PERFMON)
    assert effective_capabilities("Name:\tbee\n") == 0
    assert has_capability(CAP_BPF, caps(CAP_BPF)) and not has_capability(CAP_PERFMON, caps(CAP_BPF))


def test_privilege_problem_names_what_is_needed() -> None:
    assert PRIVILEGE_MESSAGE == "bee run needs root or CAP_BPF+CAP_PERFMON (and CAP_NET_ADMIN for XDP/TC)"
    assert privilege_problem(capabilities=caps(CAP_SYS_ADMIN), network=True) is None
    assert privilege_problem(capabilities=caps(CAP_BPF, CAP_PERFMON)) is None
    assert privilege_problem(capabilities=caps(CAP_BPF, CAP_PERFMON), network=True, root=False) == PRIVILEGE_MESSAGE
    assert privilege_problem(capabilities=caps(CAP_BPF, CAP_PERFMON, CAP_NET_ADMIN), network=True) is None
    assert privilege_problem(capabilities=caps(CAP_BPF), root=False) == PRIVILEGE_MESSAGE
    assert privilege_problem(capabilities=0, root=False) == PRIVILEGE_MESSAGE
    # root without the capabilities (a container's root): the missing ones by name, and how to add them
    assert privilege_problem(capabilities=caps(CAP_BPF), root=True) == (
        "bee run needs CAP_PERFMON, which this process lacks although it runs as root (in a container, root has "
        "only the capabilities it was given: docker run --cap-add PERFMON, or --cap-add SYS_ADMIN on Docker 20.10, "
        "which knows no CAP_BPF; securityContext.capabilities.add in Kubernetes)")
    assert "needs CAP_BPF and CAP_PERFMON and CAP_NET_ADMIN, " in privilege_problem(capabilities=0, network=True,
                                                                                   root=True)


def test_this_process() -> None:
    assert is_root() == (os.geteuid() == 0)
    if is_root():
        assert privilege_problem(network=True) is None


@pytest.mark.root
@pytest.mark.kernel
def test_the_kernel_of_these_machines() -> None:
    assert kernel_has_btf()
    assert ensure_bpffs(Path("/sys/fs/bpf/some/pin"))  # a fresh boot has none: mounted as bpftool would
    assert bpffs_mounted(Path("/sys/fs/bpf"))
    assert bpffs_mounted(Path("/sys/fs/bpf/some/pin"))
    assert not bpffs_mounted(Path("/tmp"))
    assert not ensure_bpffs(Path("/tmp/pins"))  # only /sys/fs/bpf is ever mounted
    assert isinstance(tracefs_mounted(), bool)
