// SPDX-License-Identifier: GPL-2.0
// ring_counter: every openat(2) one 16-byte event in a `counter_` ring buffer, counted by bee per
// command name (bench/ring_metrics.py). No print map: the metrics are the only output.
#include "vmlinux.h"
#include "bpf/bpf_helpers.h"

struct opener {
	char comm[16];
};

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 1 << 24);
	__type(value, struct opener);
} counter_opens SEC(".maps");

SEC("tracepoint/syscalls/sys_enter_openat")
int count_open(void *ctx)
{
	struct opener *e = bpf_ringbuf_reserve(&counter_opens, sizeof(*e), 0);

	if (!e)
		return 0;
	bpf_get_current_comm(e->comm, sizeof(e->comm));
	bpf_ringbuf_submit(e, 0);
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
