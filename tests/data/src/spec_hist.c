// Test object for bee.elf (tests/unit/elf): maps named for an output bee cannot make from their type,
// and histogram maps counted in the kernel declared right and wrong. It only has to compile, not to load.
#include "vmlinux.h"
#include "bpf/bpf_helpers.h"

/* Named for an output their type cannot give: not exported (a notice at start). */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 4);
	__type(key, u32);
	__type(value, u64);
} hist_on_hash SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 1 << 12);
} log2hist_ring SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_STACK_TRACE);
	__uint(max_entries, 16);
	__uint(key_size, sizeof(u32));
	__uint(value_size, 8 * sizeof(u64));
} counter_stacks SEC(".maps");

/* Histograms declared right: u32 counts after a sum, in an LRU hash keyed by a u32. */
struct sum_first {
	u64 sum;
	u32 counts[3];
};

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 8);
	__type(key, u32);
	__type(value, struct sum_first);
} log2hist_ok SEC(".maps");

const volatile u16 linhist_ok_width = 25;
const volatile s32 linhist_ok_start = -50;

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, u32);
	__type(value, u64[5]);
} linhist_ok SEC(".maps");

/* Histograms declared wrong: the run refuses them with one sentence each. */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 4);
	__type(key, u32);
	__type(value, u64[4]);
} linhist_nowidth SEC(".maps");

const volatile u64 linhist_zero_width = 0;

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 4);
	__type(key, u32);
	__type(value, u64[4]);
} linhist_zero SEC(".maps");

struct other_member {
	u64 slots[4];
	u32 other;
};

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 4);
	__type(key, u32);
	__type(value, struct other_member);
} log2hist_other SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 4);
	__type(key, u32);
	__type(value, u64);
} log2hist_scalar SEC(".maps");

SEC("tracepoint/sched/sched_process_exec")
int on_exec(void *ctx)
{
	return linhist_ok_width + linhist_ok_start + linhist_zero_width;
}

char LICENSE[] SEC("license") = "GPL";
