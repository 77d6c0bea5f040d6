// SPDX-License-Identifier: GPL-2.0
// series: a counter_ hash map with one key per distinct number that a process named "beeseries"
// passes as the mode of openat(2). bench/runner_cost.py opens a missing path with modes 0..N-1
// from such a process, so a runner of this program exports exactly N series from a kernel map.
// Build: bee build bench/series.c --local --binary-only -o series.o
#include "vmlinux.h"
#include "bpf/bpf_helpers.h"

#define SERIES_MAX (1 << 17)  // room for the 100,000 series of the largest run

struct series_key {
	u32 id;
	char comm[16];
};

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, SERIES_MAX);
	__type(key, struct series_key);
	__type(value, u64);
} counter_series SEC(".maps");

SEC("tracepoint/syscalls/sys_enter_openat")
int count_series(struct trace_event_raw_sys_enter *ctx)
{
	const char want[] = "beeseries";  // compared with its NUL: the name exactly
	struct series_key key = {};
	u64 one = 1, *value;

	bpf_get_current_comm(key.comm, sizeof(key.comm));
	for (int i = 0; i < sizeof(want); i++)
		if (key.comm[i] != want[i])
			return 0;
	key.id = (u32)ctx->args[3];  // the mode argument, as passed: the kernel only reads it with O_CREAT
	value = bpf_map_lookup_elem(&counter_series, &key);
	if (value)
		__sync_fetch_and_add(value, 1);
	else
		bpf_map_update_elem(&counter_series, &key, &one, BPF_NOEXIST);
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
