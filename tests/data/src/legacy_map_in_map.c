// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
// bee.elf.normalize tests: a map-in-map in SEC(".maps.counter"). Its initializer makes clang
// emit relocations against the map definitions (".rel.maps.counter"), which the merge into
// ".maps" refuses rather than guess at.
#include "vmlinux.h"
#include "bpf/bpf_helpers.h"

char LICENSE[] SEC("license") = "Dual BSD/GPL";

struct inner_map {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, u32);
	__type(value, u64);
} inner SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY_OF_MAPS);
	__uint(max_entries, 1);
	__type(key, u32);
	__array(values, struct inner_map);
} outer SEC(".maps.counter") = {
	.values = { &inner },
};

SEC("tracepoint/syscalls/sys_enter_openat")
int handle_openat(void *ctx)
{
	u32 zero = 0;
	void *map = bpf_map_lookup_elem(&outer, &zero);
	u64 *count;

	if (!map)
		return 0;
	count = bpf_map_lookup_elem(map, &zero);
	if (count)
		__sync_fetch_and_add(count, 1);
	return 0;
}
