// SPDX-License-Identifier: GPL-2.0
// capable: every capability check the kernel makes (cap_capable), with the process asking,
// the capability and whether it was granted. Same map (`print_events`) and event layout as
// Bumblebee's capable example; it hooks the capability/cap_capable tracepoint instead of a
// kprobe, so it also works on kernels without kprobes (the tracepoint exists since Linux 6.13).
#include "vmlinux.h"
#include "bpf/bpf_helpers.h"
#include "bpf/bpf_core_read.h"
#include "solo_types.h"

#define TASK_COMM_LEN 16

struct cap_event {
	u64 mntnsid; // inode number of the caller's mount namespace (ls -l /proc/PID/ns/mnt)
	u32 pid;     // thread id
	int cap;     // capability number, see capabilities(7): 10 is CAP_NET_BIND_SERVICE, 21 CAP_SYS_ADMIN
	u32 tgid;    // process id
	u32 uid;
	int ret;     // 0 when granted, -1 (-EPERM) when refused
	char task[TASK_COMM_LEN];
};

// `print_` prefix: bee shows every event of this ring buffer.
struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 1 << 24);
	__type(value, struct cap_event);
} print_events SEC(".maps");

// The tracepoint's record, declared here rather than taken from vmlinux.h: bee compiles against
// Linux 6.1's types, which predate the tracepoint. preserve_access_index makes each field access a
// CO-RE relocation, which libbpf resolves against the running kernel's trace_event_raw_cap_capable
// (the `___bee` suffix is dropped when it matches names).
struct trace_event_raw_cap_capable___bee {
	struct trace_entry ent;
	const struct cred *cred;
	struct user_namespace *target_ns;
	const struct user_namespace *capable_ns;
	int cap;
	int ret;
} __attribute__((preserve_access_index));

SEC("tracepoint/capability/cap_capable")
int cap_capable(struct trace_event_raw_cap_capable___bee *ctx)
{
	struct task_struct *task = (struct task_struct *)bpf_get_current_task();
	u64 id = bpf_get_current_pid_tgid();
	struct cap_event *e;

	e = bpf_ringbuf_reserve(&print_events, sizeof(*e), 0);
	if (!e)
		return 0;
	e->mntnsid = BPF_CORE_READ(task, nsproxy, mnt_ns, ns.inum);
	e->pid = (u32)id;
	e->tgid = id >> 32;
	e->cap = ctx->cap;
	e->uid = (u32)bpf_get_current_uid_gid();
	e->ret = ctx->ret;
	bpf_get_current_comm(e->task, sizeof(e->task));
	bpf_ringbuf_submit(e, 0);
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
