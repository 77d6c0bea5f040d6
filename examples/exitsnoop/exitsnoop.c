// SPDX-License-Identifier: GPL-2.0
// exitsnoop: every thread that exits, with its exit code or the signal that ended it, its parent
// and how long it lived. Same map (`print_exits`) and event as Bumblebee's exitsnoop example;
// it hooks the sched/sched_process_exit tracepoint.
#include "vmlinux.h"
#include "bpf/bpf_helpers.h"
#include "bpf/bpf_core_read.h"
#include "solo_types.h"

#define TASK_COMM_LEN 16

struct event {
	u64 start_time; // ns since boot, when the thread started
	u64 exit_time;  // ns since boot, when it exited
	u32 pid;        // process id
	u32 tid;        // thread id (equal to pid for a process's main thread)
	u32 ppid;       // parent's process id
	u32 sig;        // signal that ended it, 0 on a normal exit
	int exit_code;  // exit status on a normal exit
	char comm[TASK_COMM_LEN];
};

// `print_` prefix: bee shows every event of this ring buffer.
struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 1 << 24);
	__type(value, struct event);
} print_exits SEC(".maps");

SEC("tracepoint/sched/sched_process_exit")
int sched_process_exit(struct trace_event_raw_sched_process_exit *ctx)
{
	u64 id = bpf_get_current_pid_tgid();
	struct task_struct *task = (struct task_struct *)bpf_get_current_task();
	// exit_code as wait(2) reports it: status << 8 on exit(status), or the signal number
	int code = BPF_CORE_READ(task, exit_code);
	struct event *e;

	e = bpf_ringbuf_reserve(&print_exits, sizeof(*e), 0);
	if (!e)
		return 0;
	e->start_time = BPF_CORE_READ(task, start_time);
	e->exit_time = bpf_ktime_get_ns();
	e->pid = id >> 32;
	e->tid = (u32)id;
	e->ppid = BPF_CORE_READ(task, real_parent, tgid);
	e->sig = code & 0x7f;
	e->exit_code = (code >> 8) & 0xff;
	bpf_get_current_comm(e->comm, sizeof(e->comm));
	bpf_ringbuf_submit(e, 0);
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
