// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
// bee.elf.normalize tests: opensnoop as bumblebee v0.0.14 wrote it. The only map is a ring
// buffer in SEC(".maps.print"), so there is no ".maps" section to merge into: the rewrite
// renames this one. libbpf 1.x cannot load the object as compiled.
#include "vmlinux.h"
#include "bpf/bpf_helpers.h"
#include "solo_types.h"

char LICENSE[] SEC("license") = "Dual BSD/GPL";

struct event {
	u32 pid;
	u32 uid;
	char comm[16];
	char fname[64];
};

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 1 << 16);
	__type(value, struct event);
} events SEC(".maps.print");

SEC("tracepoint/syscalls/sys_enter_openat")
int handle_openat(struct trace_event_raw_sys_enter *ctx)
{
	struct event *e;

	e = bpf_ringbuf_reserve(&events, sizeof(*e), 0);
	if (!e)
		return 0;
	e->pid = bpf_get_current_pid_tgid() >> 32;
	e->uid = (u32)bpf_get_current_uid_gid();
	bpf_get_current_comm(&e->comm, sizeof(e->comm));
	bpf_probe_read_user_str(&e->fname, sizeof(e->fname), (const char *)ctx->args[1]);
	bpf_ringbuf_submit(e, 0);
	return 0;
}
