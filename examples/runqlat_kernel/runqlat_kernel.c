// SPDX-License-Identifier: GPL-2.0
// runqlat_kernel: scheduler run-queue latency, measured as runqlat measures it (the time a task waits
// for a CPU after it was woken up), but counted in the kernel: a log2 histogram per command name
// (`log2hist_runqlat_us`, in microseconds, with the sum), which bee reads every --poll-interval.
// No event crosses to user space, whatever the rate of wakeups. Same tracepoints as runqlat:
// sched/sched_wakeup, sched/sched_wakeup_new and sched/sched_switch.
#include "vmlinux.h"
#include "bpf/bpf_helpers.h"

#define TASK_COMM_LEN 16
#define SLOTS 26 // slot i: 2^i to 2^(i+1)-1 us; the last also holds every longer wait (over 33 s)

struct comm_key {
	char comm[TASK_COMM_LEN]; // the command that waited (the label)
};

struct runq_hist {
	u64 slots[SLOTS]; // how many waits of each size (log2 of the wait in microseconds)
	u64 sum;          // their total, in microseconds (the histogram's _sum)
};

// When each woken task was put on a run queue, by thread id.
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 10240);
	__type(key, u32);
	__type(value, u64);
} start SEC(".maps");

// `log2hist_` prefix on a hash map: each value's counts are one histogram series, labelled by the key.
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 4096);
	__type(key, struct comm_key);
	__type(value, struct runq_hist);
} log2hist_runqlat_us SEC(".maps");

// floor(log2(v)), 0 for v = 0, clamped to the last slot
static __always_inline u32 log2_slot(u64 v)
{
	u32 r = 0;

	if (v >> 32) { v >>= 32; r += 32; }
	if (v >> 16) { v >>= 16; r += 16; }
	if (v >> 8) { v >>= 8; r += 8; }
	if (v >> 4) { v >>= 4; r += 4; }
	if (v >> 2) { v >>= 2; r += 2; }
	if (v >> 1) r += 1;
	return r < SLOTS ? r : SLOTS - 1;
}

static __always_inline int enqueued(u32 tid)
{
	u64 now = bpf_ktime_get_ns();

	if (tid) /* not the idle task */
		bpf_map_update_elem(&start, &tid, &now, BPF_ANY);
	return 0;
}

SEC("tracepoint/sched/sched_wakeup")
int sched_wakeup(struct trace_event_raw_sched_wakeup_template *ctx)
{
	return enqueued(ctx->pid);
}

SEC("tracepoint/sched/sched_wakeup_new")
int sched_wakeup_new(struct trace_event_raw_sched_wakeup_template *ctx)
{
	return enqueued(ctx->pid);
}

SEC("tracepoint/sched/sched_switch")
int sched_switch(struct trace_event_raw_sched_switch *ctx)
{
	static const struct runq_hist empty;
	u32 prev = ctx->prev_pid, next = ctx->next_pid;
	u64 *woken, now = bpf_ktime_get_ns(), us;
	struct comm_key key = {};
	struct runq_hist *hist;

	// a task leaving the CPU is not waiting for a wakeup it already got (woken while running)
	bpf_map_delete_elem(&start, &prev);

	woken = bpf_map_lookup_elem(&start, &next);
	if (!woken)
		return 0; /* woken before we started, or preempted rather than woken */
	us = (now - *woken) / 1000;
	bpf_map_delete_elem(&start, &next);

	bpf_probe_read_kernel_str(key.comm, sizeof(key.comm), ctx->next_comm);
	hist = bpf_map_lookup_elem(&log2hist_runqlat_us, &key);
	if (!hist) {
		bpf_map_update_elem(&log2hist_runqlat_us, &key, &empty, BPF_NOEXIST);
		hist = bpf_map_lookup_elem(&log2hist_runqlat_us, &key);
		if (!hist)
			return 0; /* 4096 command names already */
	}
	__sync_fetch_and_add(&hist->slots[log2_slot(us)], 1);
	__sync_fetch_and_add(&hist->sum, us);
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
