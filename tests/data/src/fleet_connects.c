// Fleet tests (tests/fleet): counts outgoing IPv4 TCP connects by command name and destination
// port, for processes whose name starts with "fleet-" (the test renames a child process and has it
// connect N times to a port listening on 127.0.0.1). connect() moving a socket from CLOSE to
// SYN_SENT happens in the connecting process, so its command name is the current one.
#include "vmlinux.h"
#include "bpf/bpf_helpers.h"

#define AF_INET 2

struct connect_key {
	char comm[16];
	u32 dport;
};

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 1024);
	__type(key, struct connect_key);
	__type(value, u64);
} counter_connects SEC(".maps");

static __always_inline bool fleet_comm(const char *comm)
{
	const char prefix[] = "fleet-";

	for (int i = 0; i < sizeof(prefix) - 1; i++)
		if (comm[i] != prefix[i])
			return false;
	return true;
}

SEC("tracepoint/sock/inet_sock_set_state")
int count_connect(struct trace_event_raw_inet_sock_set_state *ctx)
{
	struct connect_key key = {};
	u64 one = 1, *value;

	if (ctx->protocol != IPPROTO_TCP || ctx->family != AF_INET ||
	    ctx->oldstate != TCP_CLOSE || ctx->newstate != TCP_SYN_SENT)
		return 0;
	bpf_get_current_comm(key.comm, sizeof(key.comm));
	if (!fleet_comm(key.comm))
		return 0;
	key.dport = ctx->dport;
	value = bpf_map_lookup_elem(&counter_connects, &key);
	if (value)
		__sync_fetch_and_add(value, 1);
	else
		bpf_map_update_elem(&counter_connects, &key, &one, BPF_NOEXIST);
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
