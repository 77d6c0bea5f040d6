// SPDX-License-Identifier: GPL-2.0
// activeconn: how many outgoing IPv4 TCP connections are open right now, by source and
// destination address, as a gauge (`gauge_sockets_ext`, Bumblebee's map name). Bumblebee's
// example used kprobes on tcp_v4_connect and tcp_close; this one follows each socket through
// the sock/inet_sock_set_state tracepoint: +1 when connect() moves it from CLOSE to SYN_SENT,
// -1 when it is back in CLOSE (closed, reset, refused or timed out).
#include "vmlinux.h"
#include "bpf/bpf_helpers.h"
#include "solo_types.h"

#define AF_INET 2

struct dimensions_t {
	ipv4_addr saddr;
	ipv4_addr daddr;
} __attribute__((packed));

// The sockets being counted, by kernel address, with the series each one counts in.
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 8192);
	__type(key, u64);
	__type(value, struct dimensions_t);
} sockets SEC(".maps");

// `gauge_` prefix on a hash: bee sets a gauge to each value every poll.
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 8192);
	__type(key, struct dimensions_t);
	__type(value, u64);
} gauge_sockets_ext SEC(".maps");

SEC("tracepoint/sock/inet_sock_set_state")
int tcp_state(struct trace_event_raw_inet_sock_set_state *ctx)
{
	u64 sk = (u64)ctx->skaddr, one = 1, *open;
	struct dimensions_t key = {}, *counted;

	if (ctx->protocol != IPPROTO_TCP || ctx->family != AF_INET)
		return 0;

	if (ctx->oldstate == TCP_CLOSE && ctx->newstate == TCP_SYN_SENT) {
		// connect(): one more open connection between these addresses
		__builtin_memcpy(&key.saddr, ctx->saddr, sizeof(key.saddr));
		__builtin_memcpy(&key.daddr, ctx->daddr, sizeof(key.daddr));
		bpf_map_update_elem(&sockets, &sk, &key, BPF_ANY);
		open = bpf_map_lookup_elem(&gauge_sockets_ext, &key);
		if (open)
			__sync_fetch_and_add(open, 1);
		else
			bpf_map_update_elem(&gauge_sockets_ext, &key, &one, BPF_NOEXIST);
	} else if (ctx->newstate == TCP_CLOSE) {
		// a socket we counted is gone: one less (the series stays, at 0, once all are closed)
		counted = bpf_map_lookup_elem(&sockets, &sk);
		if (!counted)
			return 0;
		open = bpf_map_lookup_elem(&gauge_sockets_ext, counted);
		if (open && *open > 0)
			__sync_fetch_and_sub(open, 1);
		bpf_map_delete_elem(&sockets, &sk);
	}
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
