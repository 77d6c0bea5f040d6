"""`bee.libbpf.stats` without the kernel: what is done when BPF_ENABLE_STATS fails, the switch's undo,
and the mean run time."""

from __future__ import annotations

import errno
from pathlib import Path

import pytest

from bee.libbpf.errors import StatsUnavailableError
from bee.libbpf.stats import ALREADY_ON, BY_SYSCTL, RunStats, StatsSwitch, fallback


def sysctl(tmp_path: Path, value: str | None) -> Path:
    path = tmp_path / "bpf_stats_enabled"
    if value is not None:
        path.write_text(value)
    return path


@pytest.mark.parametrize("code", [errno.EINVAL, errno.EPERM, errno.ENOMEM])
def test_a_sysctl_on_already_is_used_as_it_is_and_left_on(tmp_path: Path, code: int) -> None:
    path = sysctl(tmp_path, "1\n")
    switch = fallback(code, path)
    assert switch.how == ALREADY_ON
    switch.close()
    assert path.read_text() == "1\n"


def test_a_kernel_without_the_command_gets_the_sysctl_turned_on_then_back_off(tmp_path: Path) -> None:
    path = sysctl(tmp_path, "0\n")
    with fallback(errno.EINVAL, path) as switch:
        assert switch.how == BY_SYSCTL
        assert path.read_text() == "1\n"
    assert path.read_text() == "0\n"
    switch.close()  # idempotent: nothing written again
    path.write_text("1\n")
    switch.close()
    assert path.read_text() == "1\n"


def test_no_privilege_is_one_sentence_naming_the_capability(tmp_path: Path) -> None:
    path = sysctl(tmp_path, "0\n")
    with pytest.raises(StatsUnavailableError, match="needs CAP_SYS_ADMIN") as caught:
        fallback(errno.EPERM, path)
    assert caught.value.errno == errno.EPERM
    assert path.read_text() == "0\n"  # not tried: writing it needs the same capability


def test_a_kernel_without_command_nor_sysctl_says_which_linux_has_them(tmp_path: Path) -> None:
    with pytest.raises(StatsUnavailableError, match=r"BPF_ENABLE_STATS needs Linux 5\.8"):
        fallback(errno.EINVAL, sysctl(tmp_path, None))


def test_a_sysctl_that_cannot_be_written_is_the_reason_given(tmp_path: Path,
                                                             monkeypatch: pytest.MonkeyPatch) -> None:
    path = sysctl(tmp_path, "0\n")

    def read_only(self: Path, *args: object, **kwargs: object) -> int:
        raise PermissionError(errno.EROFS, "Read-only file system", str(self))

    monkeypatch.setattr(Path, "write_text", read_only)  # as /proc/sys is in a container (root or not)
    with pytest.raises(StatsUnavailableError, match="cannot be turned on: Read-only file system") as caught:
        fallback(errno.EINVAL, path)
    assert caught.value.errno == errno.EROFS
    with pytest.raises(StatsUnavailableError, match="refused .*: Cannot allocate memory"):
        fallback(errno.ENOMEM, path)


def test_a_switch_by_fd_closes_its_descriptor_once(tmp_path: Path) -> None:
    import os

    read, write = os.pipe()
    os.close(read)
    switch = StatsSwitch("fd", fd=write)
    switch.close()
    with pytest.raises(OSError):
        os.fstat(write)
    switch.close()


def test_the_mean_run_time_needs_a_run() -> None:
    assert RunStats(7, 4, 1000).ns_per_run == 250
    assert RunStats(7, 0, 0).ns_per_run is None
