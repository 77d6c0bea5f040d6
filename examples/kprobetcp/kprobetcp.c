// SPDX-License-Identifier: GPL-2.0
// kprobetcp: one event per outgoing TCP connection: which process and user opened it, and when
// (time since boot). Bumblebee's kprobetcp example fired on a kprobe on tcp_v4_connect; this one
// uses the sock/inet_sock_set_state tracepoint at the same moment (connect() moving a socket from
// CLOSE to SYN_SENT, in the connecting process), so it works on kernels without kprobes. It sees
// IPv6 connections as well: `type` tells them apart.
#include "vmlinux.h"
#include "bpf/bpf_helpers.h"
#include "solo_types.h"

struct event_t {
	u32 pid;         // process id
	u32 uid;
	u32 type;        // address family: 2 for IPv4 (AF_INET), 10 for IPv6 (AF_INET6)
	duration uptime; // time since boot, shown like Go prints durations (1h2m3.5s)
} __attribute__((packed));

// `print_` prefix: bee shows every event of this ring buffer.
struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 1 << 24);
	__type(value, struct event_t);
} print_events SEC(".maps");

SEC("tracepoint/sock/inet_sock_set_state")
int tcp_connect(struct trace_event_raw_inet_sock_set_state *ctx)
{
	struct event_t *e;

	if (ctx->protocol != IPPROTO_TCP || ctx->oldstate != TCP_CLOSE || ctx->newstate != TCP_SYN_SENT)
		return 0;
	e = bpf_ringbuf_reserve(&print_events, sizeof(*e), 0);
	if (!e)
		return 0;
	e->pid = bpf_get_current_pid_tgid() >> 32;
	e->uid = (u32)bpf_get_current_uid_gid();
	e->type = ctx->family;
	e->uptime = bpf_ktime_get_ns();
	bpf_ringbuf_submit(e, 0);
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
