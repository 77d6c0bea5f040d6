// bee run tests: every field kind the decoder must get right, triggered by a process
// whose command name is "beetrigger" (the test execs a copy of /bin/true under that name);
// "beedelete" removes the gauge key, so its series must disappear.
#include "vmlinux.h"
#include "bpf/bpf_helpers.h"
#include "solo_types.h"

enum bee_color { RED = 1, GREEN = 2, BLUE = 7 };

struct inner {
	u16 port;
	u8 proto;
};

typedef unsigned char ipv6_bytes[16];

struct event {
	u8 small;            // then 7 bytes of padding
	u64 big;
	s32 negative;
	bool flag;
	enum bee_color color;
	struct inner where;  // flattened as where_port, where_proto
	u16 codes[3];
	char comm[16];
	ipv4_addr addr;
	duration took;
	unsigned int low : 3;
	unsigned int high : 5;
	int sbits : 4;
};

struct counted {
	char comm[16];
	enum bee_color color;
};

struct latency {
	char comm[16];
	u64 le;
};

struct bee_key {
	char comm[16];
	u32 slot;
};

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 1 << 16);
	__type(value, struct event);
} print_events SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 1 << 16);
	__type(value, struct counted);
} counter_ring SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 1 << 16);
	__type(value, struct latency);
} hist_latency SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 64);
	__type(key, struct bee_key);
	__type(value, u64);
} counter_hash SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 64);
	__type(key, struct bee_key);
	__type(value, u64);
} gauge_hash SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 64);
	__type(key, u32);
	__type(value, u64);
} untracked SEC(".maps");

static __always_inline bool named(const char *comm, const char *want)
{
	for (int i = 0; i < 11; i++) {
		if (comm[i] != want[i])
			return false;
		if (!want[i])
			return true;
	}
	return true;
}

SEC("tracepoint/sched/sched_process_exec")
int on_exec(void *ctx)
{
	char comm[16] = {};
	struct bee_key key = {};
	u64 one = 1, *value;

	bpf_get_current_comm(comm, sizeof(comm));
	if (named(comm, "beedelete")) {
		__builtin_memcpy(key.comm, "beetrigger", 11);
		key.slot = 2;
		bpf_map_delete_elem(&gauge_hash, &key);
		return 0;
	}
	if (!named(comm, "beetrigger"))
		return 0;

	struct event *e = bpf_ringbuf_reserve(&print_events, sizeof(*e), 0);
	if (e) {
		__builtin_memset(e, 0, sizeof(*e));
		e->small = 200;
		e->big = 0x1122334455667788ULL;
		e->negative = -42;
		e->flag = true;
		e->color = BLUE;
		e->where.port = 8080;
		e->where.proto = 6;
		e->codes[0] = 1;
		e->codes[1] = 2;
		e->codes[2] = 65535;
		__builtin_memcpy(e->comm, comm, sizeof(e->comm));
		e->addr = 0x0100007f; // 127.0.0.1 in network byte order
		e->took = 1500000;    // 1.5ms
		e->low = 5;
		e->high = 17;
		e->sbits = -3;
		bpf_ringbuf_submit(e, 0);
	}
	struct counted *c = bpf_ringbuf_reserve(&counter_ring, sizeof(*c), 0);
	if (c) {
		__builtin_memset(c, 0, sizeof(*c));
		__builtin_memcpy(c->comm, comm, sizeof(c->comm));
		c->color = GREEN;
		bpf_ringbuf_submit(c, 0);
	}
	for (u64 le = 5; le <= 500; le *= 10) {  // observes 5, 50 and 500
		struct latency *l = bpf_ringbuf_reserve(&hist_latency, sizeof(*l), 0);
		if (!l)
			break;
		__builtin_memcpy(l->comm, comm, sizeof(l->comm));
		l->le = le;
		bpf_ringbuf_submit(l, 0);
	}
	__builtin_memcpy(key.comm, comm, sizeof(key.comm));
	key.slot = 1;
	value = bpf_map_lookup_elem(&counter_hash, &key);
	if (value)
		__sync_fetch_and_add(value, 3);
	else {
		u64 three = 3;
		bpf_map_update_elem(&counter_hash, &key, &three, BPF_NOEXIST);
	}
	u64 level = 77;
	key.slot = 2;
	bpf_map_update_elem(&gauge_hash, &key, &level, BPF_ANY);
	bpf_map_update_elem(&untracked, &key.slot, &one, BPF_ANY);
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
