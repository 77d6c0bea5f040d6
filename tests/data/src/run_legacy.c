// bee run tests: a program in bumblebee's v0.0.13/14 convention (the section names the output,
// map names carry no prefix), reporting execs of processes named "beelegacy".
#include "vmlinux.h"
#include "bpf/bpf_helpers.h"
#include "solo_types.h"

struct event {
	u32 uid;
	char comm[16];
};

struct dims {
	char comm[16];
};

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 1 << 16);
	__type(value, struct event);
} events SEC(".maps.print");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 64);
	__type(key, struct dims);
	__type(value, u64);
} execs SEC(".maps.counter");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 64);
	__type(key, struct dims);
	__type(value, u64);
} level SEC(".maps.gauge");

SEC("tracepoint/sched/sched_process_exec")
int legacy_exec(void *ctx)
{
	struct dims key = {};
	u64 one = 1, nine = 9, *count;
	struct event *e;

	bpf_get_current_comm(key.comm, sizeof(key.comm));
	if (key.comm[0] != 'b' || key.comm[1] != 'e' || key.comm[2] != 'e' || key.comm[3] != 'l')
		return 0;
	e = bpf_ringbuf_reserve(&events, sizeof(*e), 0);
	if (e) {
		e->uid = 4242;
		__builtin_memcpy(e->comm, key.comm, sizeof(e->comm));
		bpf_ringbuf_submit(e, 0);
	}
	count = bpf_map_lookup_elem(&execs, &key);
	if (count)
		__sync_fetch_and_add(count, 1);
	else
		bpf_map_update_elem(&execs, &key, &one, BPF_NOEXIST);
	bpf_map_update_elem(&level, &key, &nine, BPF_ANY);
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
