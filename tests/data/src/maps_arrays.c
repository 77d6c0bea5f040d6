// bee run tests: array maps (ARRAY, PERCPU_ARRAY) as counters, gauges and a print map. A process
// named "beearray" counts at fixed indexes; "beeup" and "beedown" raise and lower a per-CPU gauge
// on the CPU each runs on (the test pins them to different CPUs, so the values of each CPU wrap).
#include "vmlinux.h"
#include "bpf/bpf_helpers.h"

// counter_, integer key: label `index`; beearray adds 1 at index 3 and 2 at index 5
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 8);
	__type(key, u32);
	__type(value, u64);
} counter_arr SEC(".maps");

// gauge_ of one entry: no label; beearray sets it to -5
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, u32);
	__type(value, s64);
} gauge_arr_one SEC(".maps");

// print_: entries whose value changed; beearray adds 1 at index 1
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 4);
	__type(key, u32);
	__type(value, u32);
} print_arr SEC(".maps");

// counter_, per CPU: beearray adds 1 at index 1 on its CPU
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 4);
	__type(key, u32);
	__type(value, u64);
} counter_pcpu_arr SEC(".maps");

// gauge_ of one entry, per CPU: beeup adds 1, beedown subtracts 1, each on its own CPU
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, u32);
	__type(value, u64);
} gauge_pcpu_level SEC(".maps");

static __always_inline bool named(const char *comm, const char *want)
{
	for (int i = 0; i < 9; i++) {
		if (comm[i] != want[i])
			return false;
		if (!want[i])
			return true;
	}
	return true;
}

static __always_inline void add(void *map, u32 index, u64 amount)
{
	u64 *value = bpf_map_lookup_elem(map, &index);

	if (value)
		__sync_fetch_and_add(value, amount);
}

SEC("tracepoint/sched/sched_process_exec")
int on_exec(void *ctx)
{
	char comm[16] = {};
	u32 zero = 0, one = 1;

	bpf_get_current_comm(comm, sizeof(comm));
	if (named(comm, "beeup") || named(comm, "beedown")) {
		u64 *level = bpf_map_lookup_elem(&gauge_pcpu_level, &zero);

		if (level)
			*level += named(comm, "beeup") ? 1 : -1;
		return 0;
	}
	if (!named(comm, "beearray"))
		return 0;
	add(&counter_arr, 3, 1);
	add(&counter_arr, 5, 2);

	s64 *gauge = bpf_map_lookup_elem(&gauge_arr_one, &zero);
	if (gauge)
		*gauge = -5;

	u32 *printed = bpf_map_lookup_elem(&print_arr, &one);
	if (printed)
		__sync_fetch_and_add(printed, 1);

	u64 *mine = bpf_map_lookup_elem(&counter_pcpu_arr, &one);
	if (mine)
		*mine += 1;
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
