// SPDX-License-Identifier: GPL-2.0
// kprobe_openat2: a kprobe on do_sys_openat2(int dfd, const char __user *filename, struct open_how *how),
// the function every open(2), openat(2) and openat2(2) goes through. Its three arguments are read
// with PT_REGS_PARM1..3, so the event is right only when the registers of the target architecture
// are (x0..x2 on arm64, di/si/dx on x86-64): tests/arm64 checks the directory fd, the file name
// (a user pointer, read with bpf_probe_read_user_str) and the mode and flags of a known open.
#include "vmlinux.h"
#include "bpf/bpf_helpers.h"
#include "bpf/bpf_core_read.h"
#include "bpf/bpf_tracing.h"
#include "solo_types.h"

#define NAME_MAX 255
#define TASK_COMM_LEN 16

struct event {
	u32 pid;
	int dfd;    // first argument: AT_FDCWD (-100) for a path relative to the working directory
	u64 flags;  // how->flags: the open flags (O_LARGEFILE added by the kernel on 64-bit)
	u64 mode;   // how->mode: the permission bits of a file being created
	char comm[TASK_COMM_LEN];
	char fname[NAME_MAX]; // second argument, a user-space string
};

// `print_` prefix: bee shows every event of this ring buffer.
struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 1 << 20);
	__type(value, struct event);
} print_opens SEC(".maps");

// `counter_` prefix on a hash: one Prometheus counter per command name.
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 1024);
	__type(key, char[TASK_COMM_LEN]);
	__type(value, u64);
} counter_opens SEC(".maps");

SEC("kprobe/do_sys_openat2")
int kprobe_do_sys_openat2(struct pt_regs *ctx)
{
	int dfd = (int)PT_REGS_PARM1(ctx);
	const char *filename = (const char *)PT_REGS_PARM2(ctx);
	struct open_how *how = (struct open_how *)PT_REGS_PARM3(ctx);
	char comm[TASK_COMM_LEN] = {};
	u64 one = 1, *count;
	struct event *e;

	bpf_get_current_comm(comm, sizeof(comm));
	count = bpf_map_lookup_elem(&counter_opens, comm);
	if (count)
		__sync_fetch_and_add(count, 1);
	else
		bpf_map_update_elem(&counter_opens, comm, &one, BPF_NOEXIST);

	e = bpf_ringbuf_reserve(&print_opens, sizeof(*e), 0);
	if (!e)
		return 0;
	e->pid = bpf_get_current_pid_tgid() >> 32;
	e->dfd = dfd;
	e->flags = BPF_CORE_READ(how, flags);
	e->mode = BPF_CORE_READ(how, mode);
	__builtin_memcpy(e->comm, comm, sizeof(comm));
	bpf_probe_read_user_str(e->fname, sizeof(e->fname), filename);
	bpf_ringbuf_submit(e, 0);
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
