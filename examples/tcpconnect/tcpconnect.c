// SPDX-License-Identifier: GPL-2.0
// tcpconnect: counts outgoing IPv4 TCP connections by source and destination address, twice:
// once in a hash map (`counter_events_hash`, bee exports the value the kernel keeps) and once
// as ring-buffer events (`counter_events_ring`, bee adds one per event). Same maps and labels
// as Bumblebee's tcpconnect example. Bumblebee hooked tcp_v4_connect with a kprobe; here the
// sock/inet_sock_set_state tracepoint sees the same moment: connect() moving a socket from
// CLOSE to SYN_SENT, in the connecting process.
#include "vmlinux.h"
#include "bpf/bpf_helpers.h"
#include "solo_types.h"

#define AF_INET 2

struct dimensions_t {
	ipv4_addr saddr; // shown as a dotted quad
	ipv4_addr daddr;
} __attribute__((packed));

// `counter_` prefix on a hash: the value is a running count per key.
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 8192);
	__type(key, struct dimensions_t);
	__type(value, u64);
} counter_events_hash SEC(".maps");

// `counter_` prefix on a ring buffer: every event adds one to the series of its fields.
struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 1 << 24);
	__type(value, struct dimensions_t);
} counter_events_ring SEC(".maps");

SEC("tracepoint/sock/inet_sock_set_state")
int tcp_connect(struct trace_event_raw_inet_sock_set_state *ctx)
{
	struct dimensions_t key = {}, *event;
	u64 one = 1, *count;

	// an IPv4 TCP socket starting a connection
	if (ctx->protocol != IPPROTO_TCP || ctx->family != AF_INET ||
	    ctx->oldstate != TCP_CLOSE || ctx->newstate != TCP_SYN_SENT)
		return 0;
	__builtin_memcpy(&key.saddr, ctx->saddr, sizeof(key.saddr));
	__builtin_memcpy(&key.daddr, ctx->daddr, sizeof(key.daddr));

	count = bpf_map_lookup_elem(&counter_events_hash, &key);
	if (count)
		__sync_fetch_and_add(count, 1);
	else
		bpf_map_update_elem(&counter_events_hash, &key, &one, BPF_NOEXIST);

	event = bpf_ringbuf_reserve(&counter_events_ring, sizeof(*event), 0);
	if (event) {
		*event = key;
		bpf_ringbuf_submit(event, 0);
	}
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
