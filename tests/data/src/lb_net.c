// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
// bee.libbpf tests: an XDP and a TC program that count IPv4 UDP packets by destination port,
// each in its own hash map (bumblebee's counter style: struct key, u64 value).
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

char LICENSE[] SEC("license") = "Dual BSD/GPL";

#define ETH_P_IP 0x0800
#define TC_ACT_OK 0

struct port_key {
	u16 dport;
	u8 proto;
	u8 pad;
};

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 64);
	__type(key, struct port_key);
	__type(value, u64);
} counter_xdp SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 64);
	__type(key, struct port_key);
	__type(value, u64);
} counter_tc SEC(".maps");

static __always_inline void count_udp(void *map, void *data, void *data_end)
{
	struct ethhdr *eth = data;
	struct iphdr *ip = data + sizeof(*eth);
	struct udphdr *udp;
	struct port_key key = {};
	u64 one = 1, *value;

	if ((void *)(ip + 1) > data_end || eth->h_proto != bpf_htons(ETH_P_IP))
		return;
	if (ip->protocol != IPPROTO_UDP || ip->ihl != 5)
		return;
	udp = (void *)(ip + 1);
	if ((void *)(udp + 1) > data_end)
		return;
	key.dport = bpf_ntohs(udp->dest);
	key.proto = ip->protocol;
	value = bpf_map_lookup_elem(map, &key);
	if (value)
		__sync_fetch_and_add(value, 1);
	else
		bpf_map_update_elem(map, &key, &one, BPF_NOEXIST);
}

SEC("xdp")
int lb_xdp_count(struct xdp_md *ctx)
{
	count_udp(&counter_xdp, (void *)(long)ctx->data, (void *)(long)ctx->data_end);
	return XDP_PASS;
}

SEC("tc")
int lb_tc_count(struct __sk_buff *skb)
{
	count_udp(&counter_tc, (void *)(long)skb->data, (void *)(long)skb->data_end);
	return TC_ACT_OK;
}
