// SPDX-License-Identifier: GPL-2.0
// labels: bee's label types (solo_types.h) turn numbers into the names the system gives them, as
// ebpf_exporter's errno, cgroup, ifname and ksym decoders do. Every failed openat(2), with the error's
// name (errno_t), the caller's cgroup (cgroup_t) and command; and packets queued for transmission per
// network interface (ifindex_t) and driver transmit function (ksym_t: loopback_xmit, veth_xmit).
// Tracepoints only: it runs on kernels without kprobes.
#include "vmlinux.h"
#include "bpf/bpf_helpers.h"
#include "bpf/bpf_core_read.h"
#include "bpf/bpf_tracing.h"
#include "solo_types.h"

#define TASK_COMM_LEN 16

struct failed_open {
	errno_t error;       // ENOENT, EACCES, ...
	cgroup_t cgroup;     // /user.slice/..., /system.slice/cron.service
	char comm[TASK_COMM_LEN];
};

// `print_` prefix: every failed open, with its labels named.
struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 1 << 20);
	__type(value, struct failed_open);
} print_open_errors SEC(".maps");

struct error_key {
	errno_t error;
	cgroup_t cgroup;
};

// `counter_` prefix: failed opens by error and cgroup, as Prometheus series with readable labels.
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 4096);
	__type(key, struct error_key);
	__type(value, u64);
} counter_open_errors SEC(".maps") BEE_HELP("Failed openat calls by error and cgroup") BEE_UNIT("calls");

struct dev_key {
	ifindex_t dev;  // lo, eth0
	ksym_t xmit;    // the driver's transmit function: loopback_xmit
};

// `counter_` prefix: packets queued for transmission, by interface and driver function.
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 256);
	__type(key, struct dev_key);
	__type(value, u64);
} counter_xmit_packets SEC(".maps") BEE_HELP("Packets queued for transmission, by interface and driver")
	BEE_UNIT("packets");

static __always_inline void count(void *map, void *key)
{
	u64 one = 1, *value = bpf_map_lookup_elem(map, key);

	if (value)
		__sync_fetch_and_add(value, 1);
	else
		bpf_map_update_elem(map, key, &one, BPF_NOEXIST);
}

SEC("tracepoint/syscalls/sys_exit_openat")
int openat_exit(struct trace_event_raw_sys_exit *ctx)
{
	struct error_key key = {};
	struct failed_open *event;

	if (ctx->ret >= 0)
		return 0;
	key.error = (errno_t)ctx->ret;
	key.cgroup = bpf_get_current_cgroup_id();
	count(&counter_open_errors, &key);
	event = bpf_ringbuf_reserve(&print_open_errors, sizeof(*event), 0);
	if (!event)
		return 0;
	event->error = key.error;
	event->cgroup = key.cgroup;
	bpf_get_current_comm(event->comm, sizeof(event->comm));
	bpf_ringbuf_submit(event, 0);
	return 0;
}

SEC("tracepoint/net/net_dev_queue")
int net_dev_queue(struct trace_event_raw_net_dev_template *ctx)
{
	struct sk_buff *skb = (struct sk_buff *)ctx->skbaddr;
	struct dev_key key = {
		.dev = BPF_CORE_READ(skb, dev, ifindex),
		.xmit = (ksym_t)BPF_CORE_READ(skb, dev, netdev_ops, ndo_start_xmit),
	};

	count(&counter_xmit_packets, &key);
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
