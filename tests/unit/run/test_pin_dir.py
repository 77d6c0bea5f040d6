"""`check_pin_dir`: pin directories must be on bpffs, told from /proc/self/mountinfo text."""

from __future__ import annotations

from pathlib import Path

import pytest

from bee.run.errors import RunError
from bee.run.load import _mount_types, check_pin_dir

MOUNTINFO = """\
22 1 8:1 / / rw,relatime - ext4 /dev/sda1 rw
48 23 0:40 / /sys/fs/bpf rw,relatime - bpf bpf rw
60 22 0:50 / /mnt/with\\040space rw - tmpfs tmpfs rw
"""


def test_mount_points_and_their_types() -> None:
    assert _mount_types(MOUNTINFO) == {"/": "ext4", "/sys/fs/bpf": "bpf", "/mnt/with space": "tmpfs"}


def test_a_directory_under_bpffs_passes_even_before_it_exists() -> None:
    check_pin_dir(Path("/sys/fs/bpf/bee-unit-missing/deeper"), "--pin-maps", MOUNTINFO)


def test_a_directory_elsewhere_names_the_mount_and_the_fix(tmp_path: Path) -> None:
    with pytest.raises(RunError, match=r"^--pin-maps .* is not on a BPF file system \(/ is ext4\); .*"
                                       r"use a directory under /sys/fs/bpf"):
        check_pin_dir(tmp_path / "pins", "--pin-maps", MOUNTINFO)


def test_under_sys_fs_bpf_with_nothing_mounted_there_passes() -> None:
    """bee mounts bpffs at /sys/fs/bpf itself before pinning, as bpftool does."""
    unmounted = "22 1 8:1 / / rw,relatime - ext4 /dev/sda1 rw\n30 22 0:20 / /sys rw - sysfs sysfs rw\n"
    check_pin_dir(Path("/sys/fs/bpf/bee-unit-missing"), "--pin-maps", unmounted)
    with pytest.raises(RunError, match=r"\(/sys is sysfs\)"):
        check_pin_dir(Path("/sys/kernel/bee-unit-missing"), "--pin-maps", unmounted)
