// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
// Test object for bee.elf (tests/unit/elf): the v0.0.13/14 map convention, where the
// section suffix (".maps.print", ".maps.counter", ".maps.gauge") chooses the output and
// map names carry no prefix. It only has to compile, not to load.
#include "vmlinux.h"
#include "bpf/bpf_helpers.h"
#include "bpf/bpf_tracing.h"
#include "bpf/bpf_core_read.h"
#include "solo_types.h"

char LICENSE[] SEC("license") = "GPL";

struct event {
	u32 pid;
	char comm[16];
	duration delta;
};

struct dimensions_t {
	ipv4_addr saddr;
	ipv4_addr daddr;
};

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 1 << 24);
	__type(value, struct event);
} events SEC(".maps.print");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 8192);
	__type(key, struct dimensions_t);
	__type(value, u64);
} sockets_ext SEC(".maps.gauge");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 8192);
	__type(key, struct dimensions_t);
	__type(value, u64);
} connections SEC(".maps.counter");

/* The section decides, whatever the name says. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 16);
	__type(key, struct dimensions_t);
	__type(value, u64);
} gauge_but_counted SEC(".maps.counter");

/* Untracked: plain ".maps", and an unknown suffix. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 8192);
	__type(key, u32);
	__type(value, struct sock *);
} sockets SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, u32);
	__type(value, u32);
} settings SEC(".maps.custom");

SEC("kprobe/tcp_v4_connect")
int BPF_KPROBE(tcp_v4_connect, struct sock *sk)
{
	u32 tid = bpf_get_current_pid_tgid();

	bpf_map_update_elem(&sockets, &tid, &sk, BPF_ANY);
	return 0;
}

SEC("kretprobe/tcp_v4_connect")
int BPF_KRETPROBE(tcp_v4_connect_ret, int ret)
{
	u32 tid = bpf_get_current_pid_tgid();
	struct sock **skpp = bpf_map_lookup_elem(&sockets, &tid);
	struct dimensions_t key = {};
	struct event *e;
	u64 one = 1;

	if (!skpp)
		return 0;
	key.saddr = BPF_CORE_READ(*skpp, __sk_common.skc_rcv_saddr);
	key.daddr = BPF_CORE_READ(*skpp, __sk_common.skc_daddr);
	bpf_map_update_elem(&connections, &key, &one, BPF_ANY);
	bpf_map_update_elem(&sockets_ext, &key, &one, BPF_ANY);
	bpf_map_update_elem(&gauge_but_counted, &key, &one, BPF_ANY);
	e = bpf_ringbuf_reserve(&events, sizeof(*e), 0);
	if (!e)
		return 0;
	e->pid = tid;
	bpf_ringbuf_submit(e, 0);
	return 0;
}
