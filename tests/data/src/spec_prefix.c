// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
// Test object for bee.elf (tests/unit/elf): the v0.0.15 map convention (output chosen by
// the map name's prefix, all maps in ".maps"), an event struct with padding, bitfields,
// _Bool, an enum, a nested struct, arrays and the solo_types.h typedefs, and one
// program per common section kind. It only has to compile, not to load.
#include "vmlinux.h"
#include "bpf/bpf_helpers.h"
#include "bpf/bpf_tracing.h"
#include "bpf/bpf_core_read.h"
#include "solo_types.h"

char LICENSE[] SEC("license") = "Dual BSD/GPL";

enum bee_state {
	BEE_STATE_IDLE = 0,
	BEE_STATE_RUNNING = 1,
	BEE_STATE_DEAD = 7,
};

struct inner {
	u16 port;
	u8 proto;
};

struct event {
	u8 flag;
	ipv4_addr saddr;
	duration elapsed;
	char comm[16];
	_Bool ok;
	unsigned int kind : 3;
	unsigned int level : 5;
	enum bee_state state;
	struct inner where;
	u32 samples[3];
	ipv6_addr daddr;
	s64 delta;
};

struct dimensions {
	ipv4_addr saddr;
	ipv4_addr daddr;
	char comm[16];
};

struct op_time {
	char op[8];
	u64 le;
};

/* Tracked maps, one per output. */
struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 1 << 16);
	__type(value, struct event);
} print_events SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 8192);
	__type(key, struct dimensions);
	__type(value, u64);
} counter_events_hash SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 1024);
	__type(key, struct dimensions);
	__type(value, u64);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} gauge_sockets SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 1 << 12);
	__type(value, struct op_time);
} hist_op_time_us SEC(".maps");

/* Untracked: no prefix. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 64);
	__type(key, u32);
	__type(value, u64);
	__uint(map_flags, BPF_F_NO_PREALLOC);
} start_times SEC(".maps");

/* Prefixed: an array (exported, as arrays are), and a ring buffer for an output bee does not make. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 4);
	__type(key, u32);
	__type(value, u64);
} counter_array SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 1 << 12);
} gauge_ring SEC(".maps");

/* Sizes given with __uint instead of __type. */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__uint(key_size, sizeof(u32));
	__uint(value_size, 24);
} scratch SEC(".maps");

static __noinline int subprogram(int x)
{
	return x * 3;
}

SEC("tracepoint/syscalls/sys_enter_openat")
int handle_openat(struct trace_event_raw_sys_enter *ctx)
{
	struct event *e = bpf_ringbuf_reserve(&print_events, sizeof(*e), 0);

	if (!e)
		return 0;
	e->kind = 5;
	e->level = subprogram(2);
	e->state = BEE_STATE_RUNNING;
	bpf_get_current_comm(&e->comm, sizeof(e->comm));
	bpf_ringbuf_submit(e, 0);
	return 0;
}

SEC("tp/sched/sched_process_exit")
int handle_exit(void *ctx)
{
	struct dimensions key = {};
	u64 one = 1, *count;

	count = bpf_map_lookup_elem(&counter_events_hash, &key);
	if (count)
		__sync_fetch_and_add(count, 1);
	else
		bpf_map_update_elem(&counter_events_hash, &key, &one, BPF_ANY);
	return 0;
}

SEC("raw_tp/sched_switch")
int handle_switch(struct bpf_raw_tracepoint_args *ctx)
{
	return subprogram(1);
}

SEC("tp_btf/sched_wakeup")
int BPF_PROG(handle_wakeup, struct task_struct *p)
{
	return 0;
}

SEC("kprobe/tcp_v4_connect")
int BPF_KPROBE(handle_connect, struct sock *sk)
{
	struct dimensions key = {};
	u64 one = 1;

	key.saddr = BPF_CORE_READ(sk, __sk_common.skc_rcv_saddr);
	bpf_map_update_elem(&gauge_sockets, &key, &one, BPF_ANY);
	return 0;
}

SEC("kretprobe/tcp_v4_connect")
int BPF_KRETPROBE(handle_connect_ret, int ret)
{
	struct op_time *t = bpf_ringbuf_reserve(&hist_op_time_us, sizeof(*t), 0);

	if (!t)
		return 0;
	t->le = ret;
	bpf_ringbuf_submit(t, 0);
	return 0;
}

SEC("uprobe//bin/bash:readline")
int BPF_KPROBE(handle_readline)
{
	return 0;
}

SEC("xdp")
int handle_xdp(struct xdp_md *ctx)
{
	return XDP_PASS;
}

SEC("xdp")
int handle_xdp_drop(struct xdp_md *ctx)
{
	return XDP_DROP;
}

SEC("tc")
int handle_tc(struct __sk_buff *skb)
{
	return 0;
}

SEC("cgroup_skb/ingress")
int handle_skb(struct __sk_buff *skb)
{
	return 1;
}
