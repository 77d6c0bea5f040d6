// Fleet tests (tests/fleet): counts openat(2) calls by command name, for processes whose name
// starts with "fleet-" (the test renames a child process and has it open a file N times).
#include "vmlinux.h"
#include "bpf/bpf_helpers.h"

struct comm_key {
	char comm[16];
};

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 1024);
	__type(key, struct comm_key);
	__type(value, u64);
} counter_opens SEC(".maps");

static __always_inline bool fleet_comm(const char *comm)
{
	const char prefix[] = "fleet-";

	for (int i = 0; i < sizeof(prefix) - 1; i++)
		if (comm[i] != prefix[i])
			return false;
	return true;
}

SEC("tracepoint/syscalls/sys_enter_openat")
int count_openat(void *ctx)
{
	struct comm_key key = {};
	u64 one = 1, *value;

	bpf_get_current_comm(key.comm, sizeof(key.comm));
	if (!fleet_comm(key.comm))
		return 0;
	value = bpf_map_lookup_elem(&counter_opens, &key);
	if (value)
		__sync_fetch_and_add(value, 1);
	else
		bpf_map_update_elem(&counter_opens, &key, &one, BPF_NOEXIST);
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
