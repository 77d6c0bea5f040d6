// SPDX-License-Identifier: GPL-2.0
// xdpcount: counts the packets arriving on a network interface by IP protocol, in XDP (before
// the kernel's network stack sees them), and lets every packet through. A counter per protocol
// (`counter_packets`). Attach it with `bee run ... --iface NAME`.
#include "vmlinux.h"
#include "bpf/bpf_helpers.h"
#include "bpf/bpf_endian.h"
#include "solo_types.h"

#define ETH_P_IP 0x0800
#define ETH_P_IPV6 0x86DD

// Label values: bee shows an enum field by its enumerator's name, other protocols by number.
enum protocol {
	HOPOPTS = 0, // IPv6 hop-by-hop options (multicast listener reports start with them)
	ICMP = 1,
	TCP = 6,
	UDP = 17,
	ICMPV6 = 58,
	NON_IP = 256, // ARP, LLDP and every other non-IP frame
};

struct key_t {
	enum protocol proto;
};

// `counter_` prefix on a hash: the value is a running count per key.
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 512);
	__type(key, struct key_t);
	__type(value, u64);
} counter_packets SEC(".maps");

SEC("xdp")
int xdp_count(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data, *data_end = (void *)(long)ctx->data_end;
	struct ethhdr *eth = data;
	struct key_t key = {.proto = NON_IP};
	u64 one = 1, *count;

	if ((void *)(eth + 1) > data_end)
		return XDP_PASS;
	if (eth->h_proto == bpf_htons(ETH_P_IP)) {
		struct iphdr *ip = (void *)(eth + 1);

		if ((void *)(ip + 1) > data_end)
			return XDP_PASS;
		key.proto = ip->protocol;
	} else if (eth->h_proto == bpf_htons(ETH_P_IPV6)) {
		struct ipv6hdr *ip6 = (void *)(eth + 1);

		if ((void *)(ip6 + 1) > data_end)
			return XDP_PASS;
		key.proto = ip6->nexthdr; /* the first header after IPv6's own */
	}

	count = bpf_map_lookup_elem(&counter_packets, &key);
	if (count)
		__sync_fetch_and_add(count, 1);
	else
		bpf_map_update_elem(&counter_packets, &key, &one, BPF_NOEXIST);
	return XDP_PASS;
}

char LICENSE[] SEC("license") = "GPL";
