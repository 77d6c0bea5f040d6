"""bee.elf.sections: libbpf's section-name table and matching rules."""

from __future__ import annotations

import pytest

from bee.elf.sections import SectionDef, parse_section_name


@pytest.mark.parametrize(("section", "expected"), [
    ("tracepoint/syscalls/sys_enter_openat", SectionDef("tracepoint", "tracepoint", "syscalls/sys_enter_openat")),
    ("tp/sched/sched_process_exit", SectionDef("tracepoint", "tracepoint", "sched/sched_process_exit")),
    ("tracepoint", SectionDef("tracepoint", "tracepoint")),
    ("raw_tracepoint/sched_switch", SectionDef("raw_tracepoint", "raw_tracepoint", "sched_switch")),
    ("raw_tp/sched_switch", SectionDef("raw_tracepoint", "raw_tracepoint", "sched_switch")),
    ("raw_tp.w/bpf_test_finish", SectionDef("raw_tracepoint.w", "raw_tracepoint_writable", "bpf_test_finish")),
    ("tp_btf/sched_wakeup", SectionDef("tp_btf", "tracing", "sched_wakeup")),
    ("kprobe/tcp_v4_connect", SectionDef("kprobe", "kprobe", "tcp_v4_connect")),
    ("kprobe", SectionDef("kprobe", "kprobe")),
    ("kretprobe/tcp_v4_connect", SectionDef("kretprobe", "kprobe", "tcp_v4_connect")),
    ("kprobe.multi/tcp_*", SectionDef("kprobe.multi", "kprobe", "tcp_*")),
    ("ksyscall/openat", SectionDef("ksyscall", "kprobe", "openat")),
    ("kretsyscall/openat", SectionDef("kretsyscall", "kprobe", "openat")),
    ("uprobe//bin/bash:readline", SectionDef("uprobe", "kprobe", "/bin/bash:readline")),
    ("uretprobe//usr/lib/libc.so.6:malloc", SectionDef("uretprobe", "kprobe", "/usr/lib/libc.so.6:malloc")),
    ("uprobe.s//bin/bash:readline", SectionDef("uprobe", "kprobe", "/bin/bash:readline", sleepable=True)),
    ("usdt/./app:provider:probe", SectionDef("usdt", "kprobe", "./app:provider:probe")),
    ("fentry/do_unlinkat", SectionDef("fentry", "tracing", "do_unlinkat")),
    ("fexit.s/do_unlinkat", SectionDef("fexit", "tracing", "do_unlinkat", sleepable=True)),
    ("fmod_ret/security_file_open", SectionDef("fmod_ret", "tracing", "security_file_open")),
    ("lsm/file_open", SectionDef("lsm", "lsm", "file_open")),
    ("iter/task", SectionDef("iter", "tracing", "task")),
    ("struct_ops/dctcp_init", SectionDef("struct_ops", "struct_ops", "dctcp_init")),
    ("xdp", SectionDef("xdp", "xdp")),
    ("xdp.frags", SectionDef("xdp", "xdp")),
    ("xdp/devmap", SectionDef("xdp", "xdp", attach_type="devmap")),
    ("tc", SectionDef("tc", "sched_cls")),
    ("classifier", SectionDef("tc", "sched_cls")),
    ("tc/ingress", SectionDef("tc", "sched_cls", attach_type="ingress")),
    ("tcx/egress", SectionDef("tcx", "sched_cls", attach_type="egress")),
    ("socket", SectionDef("socket", "socket_filter")),
    ("perf_event", SectionDef("perf_event", "perf_event")),
    ("cgroup_skb/ingress", SectionDef("cgroup_skb", "cgroup_skb", attach_type="ingress")),
    ("cgroup/connect4", SectionDef("cgroup", "cgroup_sock_addr", attach_type="connect4")),
    ("syscall", SectionDef("syscall", "syscall", sleepable=True)),
])
def test_known_sections(section: str, expected: SectionDef) -> None:
    assert parse_section_name(section) == expected


@pytest.mark.parametrize("section", [
    "tracepointx/a", "kprobex", "socket/extra", "xdp/other", ".text", "license", "", "my_prog", "tc/other",
])
def test_unknown_sections(section: str) -> None:
    assert parse_section_name(section) is None
