// bee run tests: LRU_HASH, PERCPU_HASH and LRU_PERCPU_HASH maps as counters, gauges and a print map,
// keyed by command name. Each process named "beehash" counts; "beeup" and "beedown" raise and lower
// a per-CPU gauge on the CPU each runs on (the test pins them to different CPUs).
#include "vmlinux.h"
#include "bpf/bpf_helpers.h"

struct comm_key {
	char comm[16];
};

// counter_, LRU: +1 per beehash
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 64);
	__type(key, struct comm_key);
	__type(value, u64);
} counter_lru SEC(".maps");

// gauge_, LRU: set to 9 by beehash
struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__uint(max_entries, 64);
	__type(key, struct comm_key);
	__type(value, u64);
} gauge_lru SEC(".maps");

// counter_, per CPU: +2 per beehash, on its CPU
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_HASH);
	__uint(max_entries, 64);
	__type(key, struct comm_key);
	__type(value, u64);
} counter_pcpu SEC(".maps");

// print_, per CPU: +1 per beehash, on its CPU
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_HASH);
	__uint(max_entries, 64);
	__type(key, struct comm_key);
	__type(value, u32);
} print_pcpu SEC(".maps");

// gauge_, LRU per CPU, signed: under key "level", beeup adds 1 and beedown subtracts 1 on their CPUs
struct {
	__uint(type, BPF_MAP_TYPE_LRU_PERCPU_HASH);
	__uint(max_entries, 64);
	__type(key, struct comm_key);
	__type(value, s64);
} gauge_lru_pcpu SEC(".maps");

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

// Add `amount` to this CPU's value (or the only one) under `key`, making the entry if needed.
static __always_inline void add(void *map, struct comm_key *key, s64 amount)
{
	s64 *value = bpf_map_lookup_elem(map, key);

	if (!value) {
		s64 zero = 0;

		bpf_map_update_elem(map, key, &zero, BPF_NOEXIST);
		value = bpf_map_lookup_elem(map, key);
		if (!value)
			return;
	}
	__sync_fetch_and_add(value, amount);
}

SEC("tracepoint/sched/sched_process_exec")
int on_exec(void *ctx)
{
	struct comm_key key = {};
	u64 nine = 9;

	bpf_get_current_comm(key.comm, sizeof(key.comm));
	if (named(key.comm, "beeup") || named(key.comm, "beedown")) {
		struct comm_key level = { .comm = "level" };

		add(&gauge_lru_pcpu, &level, named(key.comm, "beeup") ? 1 : -1);
		return 0;
	}
	if (!named(key.comm, "beehash"))
		return 0;
	add(&counter_lru, &key, 1);
	add(&counter_pcpu, &key, 2);
	bpf_map_update_elem(&gauge_lru, &key, &nine, BPF_ANY);

	u32 *printed = bpf_map_lookup_elem(&print_pcpu, &key);
	if (printed) {
		*printed += 1;
	} else {
		u32 first = 1;

		bpf_map_update_elem(&print_pcpu, &key, &first, BPF_NOEXIST);
	}
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
