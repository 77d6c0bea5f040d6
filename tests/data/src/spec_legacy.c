// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
// Test object for bee.elf (tests/unit/elf): maps declared the legacy way, as
// `struct bpf_map_def` values in a section named "maps" (libbpf 1.x no longer loads these).
#include "vmlinux.h"
#include "bpf/bpf_helpers.h"

char LICENSE[] SEC("license") = "GPL";

struct legacy_map_def {
	unsigned int type;
	unsigned int key_size;
	unsigned int value_size;
	unsigned int max_entries;
	unsigned int map_flags;
};

struct legacy_map_def packets SEC("maps") = {
	.type = BPF_MAP_TYPE_HASH,
	.key_size = sizeof(u32),
	.value_size = sizeof(u64),
	.max_entries = 128,
};

struct legacy_map_def flags SEC("maps") = {
	.type = BPF_MAP_TYPE_ARRAY,
	.key_size = sizeof(u32),
	.value_size = sizeof(u32),
	.max_entries = 2,
	.map_flags = 1024,
};

SEC("socket")
int count_packets(struct __sk_buff *skb)
{
	u32 key = skb->protocol;
	u64 *value = bpf_map_lookup_elem(&packets, &key);

	if (value)
		__sync_fetch_and_add(value, 1);
	return 0;
}
