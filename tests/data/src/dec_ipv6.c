// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
// Test object for bee.decode (tests/unit/decode): a 16-byte ipv6_addr. solo_types.h makes
// ipv6_addr a u32, so this program declares its own and does not include that header.
// v6_sample holds values in .data: the bytes clang itself lays out for them.
#include "vmlinux.h"
#include "bpf/bpf_helpers.h"

char LICENSE[] SEC("license") = "Dual BSD/GPL";

typedef unsigned char ipv6_addr[16];

struct v6_event {
	ipv6_addr saddr;
	ipv6_addr daddr;
	u16 dport;
	ipv6_addr hops[2];
};

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 1 << 12);
	__type(value, struct v6_event);
} print_v6 SEC(".maps");

struct v6_event v6_sample = {
	.saddr = { 0x20, 0x01, 0x0d, 0xb8, [15] = 1 },
	.daddr = { [15] = 1 },
	.dport = 443,
	.hops = { { 0xfe, 0x80, [15] = 1 }, { 0 } },
};
