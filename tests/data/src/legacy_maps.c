// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
// bee.elf.normalize tests: every map section of the bumblebee v0.0.13/14 convention in one
// object (".maps.print", ".maps.counter", ".maps.gauge") next to an ordinary ".maps" map
// that no output tracks. `target_pid` names the pid whose openat(2) calls are reported.
#include "vmlinux.h"
#include "bpf/bpf_helpers.h"
#include "solo_types.h"

char LICENSE[] SEC("license") = "Dual BSD/GPL";

struct event {
	u32 pid;
	u32 flags;
	char comm[16];
};

struct dimensions_t {
	u32 pid;
	char comm[16];
};

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, u32);
	__type(value, u32);
} target_pid SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 1 << 16);
	__type(value, struct event);
} events SEC(".maps.print");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 1024);
	__type(key, struct dimensions_t);
	__type(value, u64);
} opens SEC(".maps.counter");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 1024);
	__type(key, struct dimensions_t);
	__type(value, u64);
} last_flags SEC(".maps.gauge");

SEC("tracepoint/syscalls/sys_enter_openat")
int handle_openat(struct trace_event_raw_sys_enter *ctx)
{
	u32 zero = 0;
	u32 *target = bpf_map_lookup_elem(&target_pid, &zero);
	struct dimensions_t key = {};
	struct event *e;
	u64 one = 1, flags = ctx->args[2];
	u64 *count;

	key.pid = bpf_get_current_pid_tgid() >> 32;
	if (!target || *target != key.pid)
		return 0;
	bpf_get_current_comm(&key.comm, sizeof(key.comm));
	count = bpf_map_lookup_elem(&opens, &key);
	if (count)
		__sync_fetch_and_add(count, 1);
	else
		bpf_map_update_elem(&opens, &key, &one, BPF_ANY);
	bpf_map_update_elem(&last_flags, &key, &flags, BPF_ANY);

	e = bpf_ringbuf_reserve(&events, sizeof(*e), 0);
	if (!e)
		return 0;
	e->pid = key.pid;
	e->flags = flags;
	__builtin_memcpy(e->comm, key.comm, sizeof(e->comm));
	bpf_ringbuf_submit(e, 0);
	return 0;
}
