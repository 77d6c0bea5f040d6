"""BPF run-time statistics on the real kernel: BPF_ENABLE_STATS turns them on for as long as its descriptor
is open, `Program.run_stats()` reads what bpftool reads, and closing the switch turns them off again.

Runs are made with BPF_PROG_TEST_RUN on an XDP program of the test's own, so their number is exact
(no other process runs it)."""

from __future__ import annotations

import fcntl
import json
import os
import subprocess
from collections.abc import Callable

import pytest

from bee.libbpf import BpfObject, Program
from bee.libbpf.stats import BY_FD, enable_run_time_stats
from bee.libbpf.system import bpf_stats_sysctl
from tests.netns import udp_frame


@pytest.fixture
def xdp(root: None, open_object: Callable[..., BpfObject]) -> Program:
    obj = open_object("lb_net")
    obj.load()
    return obj.program("lb_xdp_count")


def bpftool_counts(prog_id: int) -> tuple[int, int]:
    """(run_cnt, run_time_ns) as `bpftool prog show id N` reports them (absent: 0)."""
    shown = json.loads(subprocess.run(["bpftool", "-j", "prog", "show", "id", str(prog_id)], capture_output=True,
                                      text=True, check=True).stdout)
    return int(shown.get("run_cnt", 0)), int(shown.get("run_time_ns", 0))


def stats_descriptors() -> list[int]:
    """This process's descriptors that keep statistics on (BPF_ENABLE_STATS's anonymous inodes)."""
    found = []
    for entry in os.listdir("/proc/self/fd"):
        try:
            if os.readlink(f"/proc/self/fd/{entry}") == "anon_inode:bpf-stats":
                found.append(int(entry))
        except OSError:
            pass  # the descriptor listdir itself used
    return found


def test_runs_are_counted_exactly_while_the_switch_is_on(xdp: Program) -> None:
    sysctl_before = bpf_stats_sysctl()
    before = xdp.run_stats()
    assert before.prog_id > 0 and (before.runs, before.run_time_ns) == (0, 0)  # not attached: never ran
    with enable_run_time_stats() as switch:
        assert switch.how == BY_FD
        assert bpf_stats_sysctl() == sysctl_before  # the descriptor route leaves the sysctl alone
        [fd] = stats_descriptors()
        assert fcntl.fcntl(fd, fcntl.F_GETFD) & fcntl.FD_CLOEXEC  # a child (bpftool) does not keep them on
        xdp.test_run(udp_frame(7777), repeat=250)
        during = xdp.run_stats()
        assert during.runs - before.runs == 250
        assert during.run_time_ns > before.run_time_ns
        assert during.ns_per_run is not None and during.ns_per_run > 0
        assert bpftool_counts(during.prog_id) == (during.runs, during.run_time_ns)
    assert stats_descriptors() == []
    xdp.test_run(udp_frame(7777), repeat=100)
    after = xdp.run_stats()
    if sysctl_before == 0:  # off again: nothing more counted
        assert (after.runs, after.run_time_ns) == (during.runs, during.run_time_ns)
    assert bpf_stats_sysctl() == sysctl_before


def test_two_switches_keep_statistics_on_until_both_are_closed(xdp: Program) -> None:
    first, second = enable_run_time_stats(), enable_run_time_stats()
    first.close()
    xdp.test_run(udp_frame(7777), repeat=10)
    assert xdp.run_stats().runs >= 10
    second.close()
    counted = xdp.run_stats().runs
    xdp.test_run(udp_frame(7777), repeat=10)
    if bpf_stats_sysctl() == 0:
        assert xdp.run_stats().runs == counted
