// SPDX-License-Identifier: GPL-2.0
// bashreadline: every command line typed into an interactive bash, with who typed it. A
// uretprobe on bash's readline() reads the line it returns (`print_events`). libbpf attaches
// it from the section name: `uretprobe/<binary>:<function>`.
#include "vmlinux.h"
#include "bpf/bpf_helpers.h"
#include "bpf/bpf_tracing.h"
#include "solo_types.h"

#define TASK_COMM_LEN 16
#define LINE_LEN 128

struct event {
	u32 pid;
	u32 uid;
	char comm[TASK_COMM_LEN];
	char line[LINE_LEN]; // the line as typed, without its newline (cut at 127 bytes)
};

// `print_` prefix: bee shows every event of this ring buffer.
struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 1 << 20);
	__type(value, struct event);
} print_events SEC(".maps");

SEC("uretprobe//bin/bash:readline")
int BPF_KRETPROBE(bash_readline, const char *line)
{
	struct event *e;

	if (!line)
		return 0; /* end of input (Ctrl-D) */
	e = bpf_ringbuf_reserve(&print_events, sizeof(*e), 0);
	if (!e)
		return 0;
	e->pid = bpf_get_current_pid_tgid() >> 32;
	e->uid = (u32)bpf_get_current_uid_gid();
	bpf_get_current_comm(e->comm, sizeof(e->comm));
	bpf_probe_read_user_str(e->line, sizeof(e->line), line);
	bpf_ringbuf_submit(e, 0);
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
