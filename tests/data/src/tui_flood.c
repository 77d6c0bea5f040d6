// bee run TUI tests: one ring-buffer event per getppid() of a process whose name starts with
// "beefl" (the test renames its flooding process with prctl), so a test sends floods at will;
// the hash map counts the calls per process name.
#include "vmlinux.h"
#include "bpf/bpf_helpers.h"

struct flood_event {
	u32 pid;
	u32 seq;
	char comm[16];
};

struct flood_key {
	char comm[16];
};

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 1 << 24);  // holds every event of a 200k flood, read or not
	__type(value, struct flood_event);
} print_flood SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 16);
	__type(key, struct flood_key);
	__type(value, u64);
} counter_sent SEC(".maps");

static __always_inline bool flooding(const char *comm)
{
	const char want[] = "beefl";

	for (int i = 0; i < sizeof(want) - 1; i++)
		if (comm[i] != want[i])
			return false;
	return true;
}

SEC("tracepoint/syscalls/sys_enter_getppid")
int on_getppid(void *ctx)
{
	struct flood_key key = {};
	u64 one = 1, *sent;
	u32 seq = 1;

	bpf_get_current_comm(key.comm, sizeof(key.comm));
	if (!flooding(key.comm))
		return 0;
	sent = bpf_map_lookup_elem(&counter_sent, &key);
	if (sent)
		seq = __sync_fetch_and_add(sent, 1) + 1;
	else
		bpf_map_update_elem(&counter_sent, &key, &one, BPF_NOEXIST);

	struct flood_event *e = bpf_ringbuf_reserve(&print_flood, sizeof(*e), 0);
	if (!e)
		return 0;
	e->pid = bpf_get_current_pid_tgid() >> 32;
	e->seq = seq;
	__builtin_memcpy(e->comm, key.comm, sizeof(e->comm));
	bpf_ringbuf_submit(e, 0);
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
