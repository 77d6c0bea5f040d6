// SPDX-License-Identifier: GPL-2.0
// offcputime: time threads spend off the CPU (sleeping, blocked), by command and the kernel stack that
// took them off, as libbpf-tools' offcputime measures it. The stack id is a kstack_t (solo_types.h), so
// each series carries the stack itself, root first, in the folded form flame graph tools read:
// `stack="entry_SYSCALL_64_after_hwframe;do_syscall_64;...;do_nanosleep;schedule"`.
// Tracepoints only: it runs on kernels without kprobes.
#include "vmlinux.h"
#include "bpf/bpf_helpers.h"
#include "solo_types.h"

#define TASK_COMM_LEN 16
#define MAX_DEPTH 32

// The kernel stacks the program records; a kstack_t field names one of them.
struct {
	__uint(type, BPF_MAP_TYPE_STACK_TRACE);
	__uint(max_entries, 4096);
	__uint(key_size, sizeof(u32));
	__uint(value_size, MAX_DEPTH * sizeof(u64));
} stacks SEC(".maps");

struct off {
	u64 since;      // when it left the CPU (ns)
	kstack_t stack;
};

// Threads off the CPU now, by thread id (no prefix: not exported).
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 10240);
	__type(key, u32);
	__type(value, struct off);
} offs SEC(".maps");

struct off_key {
	char comm[TASK_COMM_LEN];
	kstack_t stack;
};

// `counter_` prefix: microseconds off the CPU, by command and stack.
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 10240);
	__type(key, struct off_key);
	__type(value, u64);
} counter_offcpu_us SEC(".maps") BEE_HELP("Time off the CPU, by command and kernel stack") BEE_UNIT("microseconds");

SEC("tracepoint/sched/sched_switch")
int sched_switch(struct trace_event_raw_sched_switch *ctx)
{
	u32 prev_tid = ctx->prev_pid, next_tid = ctx->next_pid;
	struct off_key key = {};
	struct off *off, now = {};
	u64 delta, *total;

	// prev is the current thread: its own stack says why it leaves; a preempted one (still runnable,
	// state 0) waits for a CPU, not for an event, and is left out as offcputime leaves it out
	if (prev_tid && ctx->prev_state) {
		now.since = bpf_ktime_get_ns();
		now.stack = bpf_get_stackid(ctx, &stacks, 0);
		bpf_map_update_elem(&offs, &prev_tid, &now, BPF_ANY);
	}
	off = bpf_map_lookup_elem(&offs, &next_tid);
	if (!off)
		return 0;
	delta = (bpf_ktime_get_ns() - off->since) / 1000;
	key.stack = off->stack;
	bpf_map_delete_elem(&offs, &next_tid);
	bpf_probe_read_kernel(key.comm, sizeof(key.comm), ctx->next_comm);
	total = bpf_map_lookup_elem(&counter_offcpu_us, &key);
	if (total)
		__sync_fetch_and_add(total, delta);
	else
		bpf_map_update_elem(&counter_offcpu_us, &key, &delta, BPF_NOEXIST);
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
