// The independent count for the test of examples/runqlat_kernel: how many waits for a CPU it measures,
// per command name, counted by the same rule in a program of its own (a counter_ map), so that the
// histogram's _count can be checked against it. Same tracepoints, same rule: a task woken up (or new)
// is measured when it next gets the CPU, unless it left the CPU in between.
#include "vmlinux.h"
#include "bpf/bpf_helpers.h"

struct comm_key {
	char comm[16];
};

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 10240);
	__type(key, u32);
	__type(value, u8);
} woken SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 4096);
	__type(key, struct comm_key);
	__type(value, u64);
} counter_runq_waits SEC(".maps");

static __always_inline int enqueued(u32 tid)
{
	u8 yes = 1;

	if (tid)
		bpf_map_update_elem(&woken, &tid, &yes, BPF_ANY);
	return 0;
}

SEC("tracepoint/sched/sched_wakeup")
int count_wakeup(struct trace_event_raw_sched_wakeup_template *ctx)
{
	return enqueued(ctx->pid);
}

SEC("tracepoint/sched/sched_wakeup_new")
int count_wakeup_new(struct trace_event_raw_sched_wakeup_template *ctx)
{
	return enqueued(ctx->pid);
}

SEC("tracepoint/sched/sched_switch")
int count_switch(struct trace_event_raw_sched_switch *ctx)
{
	u32 prev = ctx->prev_pid, next = ctx->next_pid;
	struct comm_key key = {};
	u64 zero = 0, *count;

	bpf_map_delete_elem(&woken, &prev);
	if (bpf_map_delete_elem(&woken, &next))
		return 0;
	bpf_probe_read_kernel_str(key.comm, sizeof(key.comm), ctx->next_comm);
	count = bpf_map_lookup_elem(&counter_runq_waits, &key);
	if (!count) { /* as runqlat_kernel makes its entries: a CPU that loses the race adds to the winner's */
		bpf_map_update_elem(&counter_runq_waits, &key, &zero, BPF_NOEXIST);
		count = bpf_map_lookup_elem(&counter_runq_waits, &key);
		if (!count)
			return 0;
	}
	__sync_fetch_and_add(count, 1);
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
