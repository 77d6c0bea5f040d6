// SPDX-License-Identifier: GPL-2.0
// oomkill: every process the out-of-memory killer picks, the process whose allocation
// triggered it, and how much memory the victim held. A counter (`counter_oomkills`, Bumblebee's
// map name) with one series per kill. Bumblebee hooked oom_kill_process with a kprobe; this one
// uses the oom/mark_victim tracepoint, which the kernel fires when it marks the victim, in the
// context of the task that ran out of memory.
#include "vmlinux.h"
#include "bpf/bpf_helpers.h"
#include "solo_types.h"

#define TASK_COMM_LEN 16
#define PAGE_KB 4 // the tracepoint reports kB; pages are 4 KiB on x86_64 and most arm64 kernels

struct data_t {
	u32 fpid;   // process that triggered the OOM killer
	u32 tpid;   // process killed
	u64 pages;  // resident pages of the killed process (anonymous, file and shared memory)
	char fcomm[TASK_COMM_LEN];
	char tcomm[TASK_COMM_LEN];
};

// `counter_` prefix on a ring buffer: every event adds one to the series of its fields.
struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 1 << 16);
	__type(value, struct data_t);
} counter_oomkills SEC(".maps");

SEC("tracepoint/oom/mark_victim")
int mark_victim(struct trace_event_raw_mark_victim *ctx)
{
	// the victim's name is a variable-length string: the low 16 bits of __data_loc_comm are its offset
	unsigned int comm_at = ctx->__data_loc_comm & 0xffff;
	struct data_t *e;

	e = bpf_ringbuf_reserve(&counter_oomkills, sizeof(*e), 0);
	if (!e)
		return 0;
	e->fpid = bpf_get_current_pid_tgid() >> 32;
	e->tpid = ctx->pid;
	e->pages = (ctx->anon_rss + ctx->file_rss + ctx->shmem_rss) / PAGE_KB;
	bpf_get_current_comm(e->fcomm, sizeof(e->fcomm));
	bpf_probe_read_kernel_str(e->tcomm, sizeof(e->tcomm), (void *)ctx + comm_at);
	bpf_ringbuf_submit(e, 0);
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
