// SPDX-License-Identifier: GPL-2.0
// tcpconnlat: how long each outgoing IPv4 TCP connection took to establish (from connect() to
// the SYN-ACK), with the process that opened it. Same map (`print_events`) and event as
// Bumblebee's tcpconnlat example, which used kprobes on tcp_v4_connect and
// tcp_rcv_state_process; this one times the socket between two state changes reported by the
// sock/inet_sock_set_state tracepoint: CLOSE -> SYN_SENT (in connect()) and SYN_SENT -> ESTABLISHED.
#include "vmlinux.h"
#include "bpf/bpf_helpers.h"
#include "solo_types.h"

#define AF_INET 2
#define TASK_COMM_LEN 16

struct event {
	ipv4_addr saddr_v4;
	ipv4_addr daddr_v4;
	char comm[TASK_COMM_LEN];
	u64 delta_us; // connect() to established, in microseconds
	u64 ts_us;    // when it was established, microseconds since boot
	u32 tgid;     // process id
	int af;       // address family (2: AF_INET)
};

// What connect() left for the moment the connection is established: who, and since when.
struct piddata {
	char comm[TASK_COMM_LEN];
	u64 ts;
	u32 tgid;
};

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 4096);
	__type(key, u64); // kernel address of the socket
	__type(value, struct piddata);
} start SEC(".maps");

// `print_` prefix: bee shows every event of this ring buffer.
struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 1 << 24);
	__type(value, struct event);
} print_events SEC(".maps");

SEC("tracepoint/sock/inet_sock_set_state")
int tcp_state(struct trace_event_raw_inet_sock_set_state *ctx)
{
	u64 sk = (u64)ctx->skaddr, now;
	struct piddata *started, piddata = {};
	struct event *e;

	if (ctx->protocol != IPPROTO_TCP || ctx->family != AF_INET)
		return 0;

	if (ctx->oldstate == TCP_CLOSE && ctx->newstate == TCP_SYN_SENT) {
		// connect(): we are in the connecting process
		bpf_get_current_comm(piddata.comm, sizeof(piddata.comm));
		piddata.ts = bpf_ktime_get_ns();
		piddata.tgid = bpf_get_current_pid_tgid() >> 32;
		bpf_map_update_elem(&start, &sk, &piddata, BPF_ANY);
		return 0;
	}
	if (ctx->oldstate != TCP_SYN_SENT)
		return 0;

	// the handshake ended: established (report it) or failed (forget it)
	started = bpf_map_lookup_elem(&start, &sk);
	if (!started)
		return 0;
	if (ctx->newstate == TCP_ESTABLISHED) {
		now = bpf_ktime_get_ns();
		e = bpf_ringbuf_reserve(&print_events, sizeof(*e), 0);
		if (e) {
			__builtin_memcpy(&e->saddr_v4, ctx->saddr, sizeof(e->saddr_v4));
			__builtin_memcpy(&e->daddr_v4, ctx->daddr, sizeof(e->daddr_v4));
			__builtin_memcpy(e->comm, started->comm, sizeof(e->comm));
			e->delta_us = (now - started->ts) / 1000;
			e->ts_us = now / 1000;
			e->tgid = started->tgid;
			e->af = ctx->family;
			bpf_ringbuf_submit(e, 0);
		}
	}
	bpf_map_delete_elem(&start, &sk);
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
