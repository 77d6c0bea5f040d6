// A minimal program for build tests: one tracepoint and one print_ ring buffer.
#include "vmlinux.h"
#include "bpf/bpf_helpers.h"
#include "solo_types.h"

struct event {
	u32 pid;
	char comm[16];
};

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 1 << 16);
	__type(value, struct event);
} print_events SEC(".maps");

SEC("tracepoint/syscalls/sys_enter_openat")
int hello(void *ctx)
{
	struct event *e = bpf_ringbuf_reserve(&print_events, sizeof(*e), 0);

	if (!e)
		return 0;
#ifdef HELLO_PID
	e->pid = bpf_get_current_pid_tgid() >> 32;
#else
	e->pid = 0;
#endif
	bpf_get_current_comm(e->comm, sizeof(e->comm));
	bpf_ringbuf_submit(e, 0);
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
