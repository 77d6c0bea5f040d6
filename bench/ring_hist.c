// SPDX-License-Identifier: GPL-2.0
// ring_hist: every openat(2) one event in a `hist_` ring buffer: the command name as its label and,
// as the observed value `le`, the low 10 bits of the clock (0-1023, so the values spread over the
// buckets). bee observes each one (bench/ring_metrics.py). No print map.
#include "vmlinux.h"
#include "bpf/bpf_helpers.h"

struct open_value {
	char comm[16];
	u64 le;
};

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 1 << 24);
	__type(value, struct open_value);
} hist_opens SEC(".maps");

SEC("tracepoint/syscalls/sys_enter_openat")
int observe_open(void *ctx)
{
	struct open_value *e = bpf_ringbuf_reserve(&hist_opens, sizeof(*e), 0);

	if (!e)
		return 0;
	bpf_get_current_comm(e->comm, sizeof(e->comm));
	e->le = bpf_ktime_get_ns() & 1023;
	bpf_ringbuf_submit(e, 0);
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
