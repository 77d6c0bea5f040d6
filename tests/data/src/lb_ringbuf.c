// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
// bee.libbpf tests: two ring buffers declared bumblebee-style with `__type(value, struct X)`.
// `events` gets one record per openat(2) made by the pid in `lb_config`; `calls` one record per
// getppid(2) (syscall number in `lb_config`) made by that pid.
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>

char LICENSE[] SEC("license") = "Dual BSD/GPL";

struct lb_config {
	u32 pid;
	u32 syscall_nr;
};

struct event {
	u32 pid;
	u32 seq;
	u64 magic;
	char comm[16];
};

struct call {
	u32 pid;
	u32 nr;
};

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, u32);
	__type(value, struct lb_config);
} lb_config SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 1 << 20);
	__type(value, struct event);
} events SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 1 << 12);
	__type(value, struct call);
} calls SEC(".maps");

u32 seq = 0;

static __always_inline struct lb_config *target(void)
{
	u32 zero = 0;
	struct lb_config *cfg = bpf_map_lookup_elem(&lb_config, &zero);

	if (!cfg || cfg->pid == 0 || cfg->pid != (bpf_get_current_pid_tgid() >> 32))
		return 0;
	return cfg;
}

SEC("tracepoint/syscalls/sys_enter_openat")
int lb_openat(struct trace_event_raw_sys_enter *ctx)
{
	struct event *e;

	if (!target())
		return 0;
	e = bpf_ringbuf_reserve(&events, sizeof(*e), 0);
	if (!e)
		return 0;
	e->pid = bpf_get_current_pid_tgid() >> 32;
	e->seq = seq++; // one thread makes the calls: no atomics needed
	e->magic = 0xfeedbeefcafef00dULL;
	bpf_get_current_comm(&e->comm, sizeof(e->comm));
	bpf_ringbuf_submit(e, 0);
	return 0;
}

SEC("raw_tracepoint/sys_enter")
int lb_sys_enter(struct bpf_raw_tracepoint_args *ctx)
{
	struct lb_config *cfg = target();
	struct call *c;
	long nr = ctx->args[1];

	if (!cfg || nr != cfg->syscall_nr)
		return 0;
	c = bpf_ringbuf_reserve(&calls, sizeof(*c), 0);
	if (!c)
		return 0;
	c->pid = cfg->pid;
	c->nr = nr;
	bpf_ringbuf_submit(c, 0);
	return 0;
}
