// SPDX-License-Identifier: GPL-2.0
// syscount: system calls by name and command, as libbpf-tools' syscount counts them. The call's number
// is a syscall_t (solo_types.h), so its series read `syscall="openat"`, named from the running machine's
// architecture (x86_64 and arm64 number their calls differently).
#include "vmlinux.h"
#include "bpf/bpf_helpers.h"
#include "solo_types.h"

#define TASK_COMM_LEN 16

struct call_key {
	char comm[TASK_COMM_LEN];
	syscall_t syscall;
};

// `counter_` prefix: calls made, by command and system call.
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 10240);
	__type(key, struct call_key);
	__type(value, u64);
} counter_syscalls SEC(".maps") BEE_HELP("System calls made, by command and call") BEE_UNIT("calls");

SEC("tracepoint/raw_syscalls/sys_enter")
int sys_enter(struct trace_event_raw_sys_enter *ctx)
{
	struct call_key key = {.syscall = ctx->id};
	u64 one = 1, *count;

	if (key.syscall < 0)  // a ptrace'd task's skipped call
		return 0;
	bpf_get_current_comm(key.comm, sizeof(key.comm));
	count = bpf_map_lookup_elem(&counter_syscalls, &key);
	if (count)
		__sync_fetch_and_add(count, 1);
	else
		bpf_map_update_elem(&counter_syscalls, &key, &one, BPF_NOEXIST);
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
