// bee run tests: an XDP program counting IPv4 packets by protocol (labels: proto as an enum name),
// and a uprobe on libc's getpid counting calls by command name.
#include "vmlinux.h"
#include "bpf/bpf_helpers.h"
#include "bpf/bpf_endian.h"

#define ETH_P_IP 0x0800

enum ip_proto { PROTO_ICMP = 1, PROTO_TCP = 6, PROTO_UDP = 17 };

struct proto_key {
	enum ip_proto proto;
};

struct comm_key {
	char comm[16];
};

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 256);
	__type(key, struct proto_key);
	__type(value, u64);
} counter_packets SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 1024);
	__type(key, struct comm_key);
	__type(value, u64);
} counter_getpid SEC(".maps");

SEC("xdp")
int count_packets(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data, *data_end = (void *)(long)ctx->data_end;
	struct ethhdr *eth = data;
	struct iphdr *ip = data + sizeof(*eth);
	struct proto_key key = {};
	u64 one = 1, *value;

	if ((void *)(ip + 1) > data_end || eth->h_proto != bpf_htons(ETH_P_IP))
		return XDP_PASS;
	key.proto = ip->protocol;
	value = bpf_map_lookup_elem(&counter_packets, &key);
	if (value)
		__sync_fetch_and_add(value, 1);
	else
		bpf_map_update_elem(&counter_packets, &key, &one, BPF_NOEXIST);
	return XDP_PASS;
}

SEC("uprobe/libc.so.6:getpid")
int count_getpid(void *ctx)
{
	struct comm_key key = {};
	u64 one = 1, *value;

	bpf_get_current_comm(key.comm, sizeof(key.comm));
	value = bpf_map_lookup_elem(&counter_getpid, &key);
	if (value)
		__sync_fetch_and_add(value, 1);
	else
		bpf_map_update_elem(&counter_getpid, &key, &one, BPF_NOEXIST);
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
