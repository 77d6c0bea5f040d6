// bee run tests: histograms counted in the kernel (log2hist_, linhist_). Each process named
// "beehist" counts the same eight values, 0 1 2 3 5 100 1000 70000, into every histogram below,
// and their number into counter_hist_values, the count to check the histograms' _count against.
#include "vmlinux.h"
#include "bpf/bpf_helpers.h"

#define LOG2_SLOTS 20
#define SMALL_SLOTS 8

typedef u32 hist_slot32;

struct comm_key {
	char comm[16];
};

// log2, keyed by command name, with a sum
struct log2_with_sum {
	u64 slots[LOG2_SLOTS];
	u64 sum;
};

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 16);
	__type(key, struct comm_key);
	__type(value, struct log2_with_sum);
} log2hist_values SEC(".maps");

// log2, per CPU, keyed by command name, slots only: 1000 and 70000 are clamped into the last slot
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_HASH);
	__uint(max_entries, 16);
	__type(key, struct comm_key);
	__type(value, u64[SMALL_SLOTS]);
} log2hist_pcpu SEC(".maps");

// linear, one entry (no label), u32 counts, slots of width 2 from 1: le 2, 4, 6, 8, 10, +Inf
const volatile u64 linhist_values_width = 2;
const volatile s64 linhist_values_start = 1;

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, u32);
	__type(value, hist_slot32[6]);
} linhist_values SEC(".maps");

// linear, per CPU, at index 2, with a sum, slots of width 500 from 0 (no start declared): le 499, 999, 1499, +Inf
const volatile u32 linhist_keyed_width = 500;

struct linear_with_sum {
	u64 sum;
	u64 counts[4];
};

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 4);
	__type(key, u32);
	__type(value, struct linear_with_sum);
} linhist_keyed SEC(".maps");

// how many values beehist counted: the independent count
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 16);
	__type(key, struct comm_key);
	__type(value, u64);
} counter_hist_values SEC(".maps");

static __always_inline bool named(const char *comm, const char *want)
{
	for (int i = 0; i < 8; i++) {
		if (comm[i] != want[i])
			return false;
		if (!want[i])
			return true;
	}
	return true;
}

// floor(log2(v)); 0 for v = 0
static __always_inline u32 log2_floor(u64 v)
{
	u32 r = 0;

	if (v >> 32) { v >>= 32; r += 32; }
	if (v >> 16) { v >>= 16; r += 16; }
	if (v >> 8) { v >>= 8; r += 8; }
	if (v >> 4) { v >>= 4; r += 4; }
	if (v >> 2) { v >>= 2; r += 2; }
	if (v >> 1) r += 1;
	return r;
}

// the slot of v in a linear histogram of `slots` slots: below start in the first, past the end in the last
static __always_inline u32 linear_slot(u64 v, s64 start, u64 width, u32 slots)
{
	s64 from = (s64)v - start;
	u64 slot = from < 0 ? 0 : (u64)from / width;

	return slot >= slots ? slots - 1 : slot;
}

static __always_inline void *entry(void *map, void *key, void *zero)
{
	void *value = bpf_map_lookup_elem(map, key);

	if (value)
		return value;
	bpf_map_update_elem(map, key, zero, BPF_NOEXIST);
	return bpf_map_lookup_elem(map, key);
}

static const u64 VALUES[] = { 0, 1, 2, 3, 5, 100, 1000, 70000 };

SEC("tracepoint/sched/sched_process_exec")
int on_exec(void *ctx)
{
	static const struct log2_with_sum no_log2;
	static const u64 no_small[SMALL_SLOTS];
	static const u64 no_count;
	struct comm_key key = {};
	u32 zero = 0, two = 2;

	bpf_get_current_comm(key.comm, sizeof(key.comm));
	if (!named(key.comm, "beehist"))
		return 0;
	struct log2_with_sum *log2 = entry(&log2hist_values, &key, (void *)&no_log2);
	u64 *small = entry(&log2hist_pcpu, &key, (void *)no_small);
	hist_slot32 *linear = bpf_map_lookup_elem(&linhist_values, &zero);
	struct linear_with_sum *keyed = bpf_map_lookup_elem(&linhist_keyed, &two);
	u64 *count = entry(&counter_hist_values, &key, (void *)&no_count);

	if (!log2 || !small || !linear || !keyed || !count)
		return 0;
	for (int i = 0; i < 8; i++) {
		u64 v = VALUES[i];
		u32 slot = log2_floor(v);

		if (slot >= LOG2_SLOTS)
			slot = LOG2_SLOTS - 1;
		__sync_fetch_and_add(&log2->slots[slot], 1);
		__sync_fetch_and_add(&log2->sum, v);
		slot = log2_floor(v);
		if (slot >= SMALL_SLOTS)
			slot = SMALL_SLOTS - 1;
		small[slot] += 1;
		slot = linear_slot(v, linhist_values_start, linhist_values_width, 6);
		if (slot < 6)
			__sync_fetch_and_add(&linear[slot], 1);
		slot = linear_slot(v, 0, linhist_keyed_width, 4);
		if (slot < 4)
			keyed->counts[slot] += 1;
		keyed->sum += v;
		__sync_fetch_and_add(count, 1);
	}
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
