"""The names bee's label types are shown as, read from this machine (bee.decode.system_names)."""

from __future__ import annotations

import os
import socket
from pathlib import Path

import pytest

from bee.decode import system_names
from bee.decode.system_names import cgroup2_mount, cgroup_path, errno_name, ifname, ksym


def test_errno_names_either_sign() -> None:
    assert (errno_name(-2), errno_name(2), errno_name(-13), errno_name(0), errno_name(-9999)) == (
        "ENOENT", "ENOENT", "EACCES", "0", "-9999")


def test_interface_names_and_unknown_indexes() -> None:
    assert ifname(socket.if_nametoindex("lo")) == "lo"
    assert ifname(2**31 - 1) == str(2**31 - 1)


@pytest.mark.root  # kallsyms shows addresses to root only (kptr_restrict)
def test_kernel_symbols_at_and_inside(monkeypatch: pytest.MonkeyPatch) -> None:
    line = next(line for line in Path("/proc/kallsyms").read_text().splitlines() if line.endswith(" loopback_xmit"))
    address = int(line.split()[0], 16)
    assert ksym(address) == "loopback_xmit"
    assert ksym(address + 4) == "loopback_xmit+0x4"
    assert ksym(0) == "0x0"
    monkeypatch.setattr(system_names, "_symbols", ([], []))  # kallsyms hiding every address
    assert ksym(address) == hex(address)


@pytest.mark.root
def test_cgroup_ids_are_paths_under_the_cgroup2_mount() -> None:
    mount = cgroup2_mount()
    if mount is None:
        assert cgroup_path(12345) == "12345"
        return
    group = Path(mount) / f"bee-names-{os.getpid()}"
    group.mkdir()
    try:
        assert cgroup_path(os.stat(mount).st_ino) == "/"
        assert cgroup_path(group.stat().st_ino) == f"/{group.name}"
    finally:
        group.rmdir()
