"""Program section names → program kind, BPF program type and attach target (libbpf's table).

The table follows libbpf's `section_defs` (1.1, plus the later tc/tcx/netkit, uprobe.multi,
netfilter and *_unix entries) and its matching rules: a definition ending in `+` matches
the exact name or `name/anything`; any other definition matches only exactly. The first
matching definition wins.
"""

from __future__ import annotations

from bee.records import Record  # not dataclasses: ~8 ms + 0.7 ms a class of bee run (docs/dev/startup.md)


class SectionDef(Record):
    """What a section name says about a program.

    `kind` is the family with aliases folded (`tp` → `tracepoint`, `classifier` → `tc`,
    `.s` dropped and reported in `sleepable`); `prog_type` the BPF_PROG_TYPE_* name in
    lower case; `hook` the attach target written after the prefix (`syscalls/sys_enter_openat`,
    `tcp_v4_connect`, `/bin/bash:readline`), None when the program attaches elsewhere
    (an interface, a cgroup) or manually; `attach_type` the part after `/` of a fixed
    name such as `cgroup_skb/ingress`.
    """

    kind: str
    prog_type: str
    hook: str | None = None
    attach_type: str | None = None
    sleepable: bool = False


# (libbpf SEC_DEF name, prog type, sleepable)
_DEFS: tuple[tuple[str, str, bool], ...] = (
    ("socket", "socket_filter", False),
    ("sk_reuseport/migrate", "sk_reuseport", False),
    ("sk_reuseport", "sk_reuseport", False),
    ("kprobe+", "kprobe", False),
    ("uprobe+", "kprobe", False),
    ("uprobe.s+", "kprobe", True),
    ("kretprobe+", "kprobe", False),
    ("uretprobe+", "kprobe", False),
    ("uretprobe.s+", "kprobe", True),
    ("kprobe.multi+", "kprobe", False),
    ("kretprobe.multi+", "kprobe", False),
    ("uprobe.multi+", "kprobe", False),
    ("uretprobe.multi+", "kprobe", False),
    ("uprobe.multi.s+", "kprobe", True),
    ("uretprobe.multi.s+", "kprobe", True),
    ("ksyscall+", "kprobe", False),
    ("kretsyscall+", "kprobe", False),
    ("usdt+", "kprobe", False),
    ("usdt.s+", "kprobe", True),
    ("tc/ingress", "sched_cls", False),
    ("tc/egress", "sched_cls", False),
    ("tcx/ingress", "sched_cls", False),
    ("tcx/egress", "sched_cls", False),
    ("netkit/primary", "sched_cls", False),
    ("netkit/peer", "sched_cls", False),
    ("tc", "sched_cls", False),
    ("classifier", "sched_cls", False),
    ("action", "sched_act", False),
    ("tracepoint+", "tracepoint", False),
    ("tp+", "tracepoint", False),
    ("raw_tracepoint+", "raw_tracepoint", False),
    ("raw_tp+", "raw_tracepoint", False),
    ("raw_tracepoint.w+", "raw_tracepoint_writable", False),
    ("raw_tp.w+", "raw_tracepoint_writable", False),
    ("tp_btf+", "tracing", False),
    ("fentry+", "tracing", False),
    ("fmod_ret+", "tracing", False),
    ("fexit+", "tracing", False),
    ("fentry.s+", "tracing", True),
    ("fmod_ret.s+", "tracing", True),
    ("fexit.s+", "tracing", True),
    ("freplace+", "ext", False),
    ("lsm+", "lsm", False),
    ("lsm.s+", "lsm", True),
    ("lsm_cgroup+", "lsm", False),
    ("iter+", "tracing", False),
    ("iter.s+", "tracing", True),
    ("syscall", "syscall", True),
    ("xdp.frags/devmap", "xdp", False),
    ("xdp/devmap", "xdp", False),
    ("xdp.frags/cpumap", "xdp", False),
    ("xdp/cpumap", "xdp", False),
    ("xdp.frags", "xdp", False),
    ("xdp", "xdp", False),
    ("perf_event", "perf_event", False),
    ("lwt_in", "lwt_in", False),
    ("lwt_out", "lwt_out", False),
    ("lwt_xmit", "lwt_xmit", False),
    ("lwt_seg6local", "lwt_seg6local", False),
    ("sockops", "sock_ops", False),
    ("sk_skb/stream_parser", "sk_skb", False),
    ("sk_skb/stream_verdict", "sk_skb", False),
    ("sk_skb", "sk_skb", False),
    ("sk_msg", "sk_msg", False),
    ("lirc_mode2", "lirc_mode2", False),
    ("flow_dissector", "flow_dissector", False),
    ("cgroup_skb/ingress", "cgroup_skb", False),
    ("cgroup_skb/egress", "cgroup_skb", False),
    ("cgroup/skb", "cgroup_skb", False),
    ("cgroup/sock_create", "cgroup_sock", False),
    ("cgroup/sock_release", "cgroup_sock", False),
    ("cgroup/sock", "cgroup_sock", False),
    ("cgroup/post_bind4", "cgroup_sock", False),
    ("cgroup/post_bind6", "cgroup_sock", False),
    ("cgroup/bind4", "cgroup_sock_addr", False),
    ("cgroup/bind6", "cgroup_sock_addr", False),
    ("cgroup/connect4", "cgroup_sock_addr", False),
    ("cgroup/connect6", "cgroup_sock_addr", False),
    ("cgroup/connect_unix", "cgroup_sock_addr", False),
    ("cgroup/sendmsg4", "cgroup_sock_addr", False),
    ("cgroup/sendmsg6", "cgroup_sock_addr", False),
    ("cgroup/sendmsg_unix", "cgroup_sock_addr", False),
    ("cgroup/recvmsg4", "cgroup_sock_addr", False),
    ("cgroup/recvmsg6", "cgroup_sock_addr", False),
    ("cgroup/recvmsg_unix", "cgroup_sock_addr", False),
    ("cgroup/getpeername4", "cgroup_sock_addr", False),
    ("cgroup/getpeername6", "cgroup_sock_addr", False),
    ("cgroup/getpeername_unix", "cgroup_sock_addr", False),
    ("cgroup/getsockname4", "cgroup_sock_addr", False),
    ("cgroup/getsockname6", "cgroup_sock_addr", False),
    ("cgroup/getsockname_unix", "cgroup_sock_addr", False),
    ("cgroup/sysctl", "cgroup_sysctl", False),
    ("cgroup/getsockopt", "cgroup_sockopt", False),
    ("cgroup/setsockopt", "cgroup_sockopt", False),
    ("cgroup/dev", "cgroup_device", False),
    ("struct_ops+", "struct_ops", False),
    ("struct_ops.s+", "struct_ops", True),
    ("sk_lookup", "sk_lookup", False),
    ("netfilter", "netfilter", False),
)

_ALIASES = {"tp": "tracepoint", "raw_tp": "raw_tracepoint", "raw_tp.w": "raw_tracepoint.w",
            "classifier": "tc", "xdp.frags": "xdp"}


def _kind(base: str, sleepable: bool) -> str:
    if sleepable and base.endswith(".s"):
        base = base[:-2]
    return _ALIASES.get(base, base)


def parse_section_name(section: str) -> SectionDef | None:
    """What libbpf would make of a program in `section`, or None when it knows no such section."""
    for name, prog_type, sleepable in _DEFS:
        if name.endswith("+"):
            prefix = name[:-1]
            if section == prefix:
                return SectionDef(_kind(prefix, sleepable), prog_type, None, None, sleepable)
            if section.startswith(prefix + "/"):
                hook = section[len(prefix) + 1:] or None
                return SectionDef(_kind(prefix, sleepable), prog_type, hook, None, sleepable)
        elif section == name:
            base, _, attach = name.partition("/")
            return SectionDef(_kind(base, sleepable), prog_type, None, attach or None, sleepable)
    return None
