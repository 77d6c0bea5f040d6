// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
// bee.libbpf tests: `lb_fine` is valid; `lb_out_of_bounds` reads past its 8-byte map value
// at an offset the verifier cannot bound, so the verifier rejects it.
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>

char LICENSE[] SEC("license") = "Dual BSD/GPL";

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, u32);
	__type(value, u64);
} lb_values SEC(".maps");

SEC("raw_tracepoint/sys_enter")
int lb_fine(struct bpf_raw_tracepoint_args *ctx)
{
	return 0;
}

SEC("raw_tracepoint/sys_exit")
int lb_out_of_bounds(struct bpf_raw_tracepoint_args *ctx)
{
	u32 key = 0;
	u64 *value = bpf_map_lookup_elem(&lb_values, &key);

	if (!value)
		return 0;
	return value[bpf_get_prandom_u32() & 0xff];
}
