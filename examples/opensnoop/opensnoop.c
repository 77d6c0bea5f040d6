// SPDX-License-Identifier: GPL-2.0
// opensnoop: every open(2)/openat(2) with the calling process, its file name and the result.
// Same map and event as Bumblebee's opensnoop example, so its output and metrics keep their names;
// it hooks the syscalls tracepoints, which every kernel with tracefs has. Two parameters narrow it
// to one process or one command name, in the kernel: bee run ... --param target_pid=1234.
#include "vmlinux.h"
#include "bpf/bpf_helpers.h"
#include "bpf/bpf_core_read.h"
#include "bpf/bpf_tracing.h"
#include "solo_types.h"

#define NAME_MAX 255
#define TASK_COMM_LEN 16

// Parameters: `const volatile` globals that `bee run --param NAME=VALUE` sets before the program
// loads (0 and "" watch every process). The verifier sees the values as constants, so a filter left
// at its default costs nothing.
const volatile u32 target_pid = 0;                   // only this process (its PID, the thread group id)
const volatile char target_comm[TASK_COMM_LEN] = ""; // only processes of this command name

struct args_t {
	const char *fname;
	int flags;
};

struct event {
	u64 ts;
	u32 pid;
	u32 uid;
	int ret;
	int flags;
	char comm[TASK_COMM_LEN];
	char fname[NAME_MAX];
};

// Arguments of open calls in flight, by thread id: filled on entry, consumed on exit.
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 10240);
	__type(key, u32);
	__type(value, struct args_t);
} start SEC(".maps");

// `print_` prefix: bee shows every event of this ring buffer.
struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 1 << 24);
	__type(value, struct event);
} print_events SEC(".maps");

// Whether the calling process is one the parameters ask for.
static __always_inline bool wanted(u64 id)
{
	char comm[TASK_COMM_LEN];

	if (target_pid && id >> 32 != target_pid)
		return false;
	if (!target_comm[0])
		return true;
	bpf_get_current_comm(comm, sizeof(comm));
	for (int i = 0; i < TASK_COMM_LEN; i++) {
		if (comm[i] != target_comm[i])
			return false;
		if (!comm[i])
			break;
	}
	return true;
}

static __always_inline int trace_enter(const char *fname, int flags)
{
	u64 id = bpf_get_current_pid_tgid();
	u32 tid = (u32)id;
	struct args_t args = {.fname = fname, .flags = flags};

	if (!wanted(id))
		return 0; /* not remembered: its exit sends nothing */
	bpf_map_update_elem(&start, &tid, &args, BPF_ANY);
	return 0;
}

// open(2) exists on x86 only: arm64 (as riscv and loongarch) has openat(2) alone, so its kernel has no
// syscalls/sys_enter_open tracepoint, and a build for it leaves both open(2) programs out.
#if defined(__TARGET_ARCH_x86)
SEC("tracepoint/syscalls/sys_enter_open")
int tracepoint__syscalls__sys_enter_open(struct trace_event_raw_sys_enter *ctx)
{
	return trace_enter((const char *)ctx->args[0], (int)ctx->args[1]);
}
#endif

SEC("tracepoint/syscalls/sys_enter_openat")
int tracepoint__syscalls__sys_enter_openat(struct trace_event_raw_sys_enter *ctx)
{
	return trace_enter((const char *)ctx->args[1], (int)ctx->args[2]);
}

static __always_inline int trace_exit(struct trace_event_raw_sys_exit *ctx)
{
	u64 id = bpf_get_current_pid_tgid();
	u32 tid = (u32)id;
	struct args_t *ap = bpf_map_lookup_elem(&start, &tid);
	struct event *event;

	if (!ap)
		return 0; /* missed the entry */
	event = bpf_ringbuf_reserve(&print_events, sizeof(*event), 0);
	if (event) {
		event->ts = bpf_ktime_get_ns();
		event->pid = id >> 32;
		event->uid = (u32)bpf_get_current_uid_gid();
		event->ret = ctx->ret;
		event->flags = ap->flags;
		bpf_get_current_comm(&event->comm, sizeof(event->comm));
		bpf_probe_read_user_str(&event->fname, sizeof(event->fname), ap->fname);
		bpf_ringbuf_submit(event, 0);
	}
	bpf_map_delete_elem(&start, &tid);
	return 0;
}

#if defined(__TARGET_ARCH_x86)
SEC("tracepoint/syscalls/sys_exit_open")
int tracepoint__syscalls__sys_exit_open(struct trace_event_raw_sys_exit *ctx)
{
	return trace_exit(ctx);
}
#endif

SEC("tracepoint/syscalls/sys_exit_openat")
int tracepoint__syscalls__sys_exit_openat(struct trace_event_raw_sys_exit *ctx)
{
	return trace_exit(ctx);
}

char LICENSE[] SEC("license") = "GPL";
