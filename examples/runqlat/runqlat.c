// SPDX-License-Identifier: GPL-2.0
// runqlat: scheduler run-queue latency, the time a task waits for a CPU after it was woken up,
// as a histogram per command name (`hist_runqlat_us`; the observed value is `le`, in
// microseconds). It uses the sched/sched_wakeup, sched/sched_wakeup_new and sched/sched_switch
// tracepoints, which every kernel has. One parameter leaves short waits out, in the kernel:
// bee run ... --param min_wait=1ms.
#include "vmlinux.h"
#include "bpf/bpf_helpers.h"
#include "solo_types.h"

#define TASK_COMM_LEN 16
#define WAKEUP_NS (100 * 1000 * 1000) // wake the reader at most every 100 ms...
#define WAKEUP_BYTES (1 << 20)        // ...unless 1 MiB of events is waiting

// Parameter (`bee run --param min_wait=1ms`): waits shorter than this are not sent at all, so a busy
// machine sends only the waits worth looking at. A `duration` is in nanoseconds; bee reads 10ms,
// 250us, 1.5s. The default, 0, sends every wait.
const volatile duration min_wait = 0;

struct event {
	char comm[TASK_COMM_LEN]; // the command that waited (the label)
	u64 le;                   // how long it waited, in microseconds (the observation)
};

// When each woken task was put on a run queue, by thread id.
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 10240);
	__type(key, u32);
	__type(value, u64);
} start SEC(".maps");

// When the reader was last woken up (one entry).
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, u32);
	__type(value, u64);
} last_wakeup SEC(".maps");

// `hist_` prefix on a ring buffer: each event is one observation of `le`, labelled by the other fields.
struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 1 << 24);
	__type(value, struct event);
} hist_runqlat_us SEC(".maps");

// Waking bee's reader for every event would cost a reader wakeup per event, and each of those is
// itself a wakeup this program measures: send events in batches instead.
static __always_inline long wakeup_flags(u64 now)
{
	u32 zero = 0;
	u64 *last = bpf_map_lookup_elem(&last_wakeup, &zero);

	if (!last)
		return 0;
	if (now - *last >= WAKEUP_NS || bpf_ringbuf_query(&hist_runqlat_us, BPF_RB_AVAIL_DATA) >= WAKEUP_BYTES) {
		*last = now;
		return BPF_RB_FORCE_WAKEUP;
	}
	return BPF_RB_NO_WAKEUP;
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
	u32 prev = ctx->prev_pid, next = ctx->next_pid;
	u64 *woken, now = bpf_ktime_get_ns();
	struct event *e;

	// a task leaving the CPU is not waiting for a wakeup it already got (woken while running)
	bpf_map_delete_elem(&start, &prev);

	woken = bpf_map_lookup_elem(&start, &next);
	if (!woken)
		return 0; /* woken before we started, or preempted rather than woken */
	if (now - *woken < min_wait) {
		bpf_map_delete_elem(&start, &next);
		return 0;
	}
	e = bpf_ringbuf_reserve(&hist_runqlat_us, sizeof(*e), 0);
	if (e) {
		bpf_probe_read_kernel_str(e->comm, sizeof(e->comm), ctx->next_comm);
		e->le = (now - *woken) / 1000;
		bpf_ringbuf_submit(e, wakeup_flags(now));
	}
	bpf_map_delete_elem(&start, &next);
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
