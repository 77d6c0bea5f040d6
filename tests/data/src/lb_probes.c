// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
// bee.libbpf tests: probes. `lb_kprobe` loads everywhere but attaches only where the kernel
// has kprobes; `lb_uprobe_auto` attaches by its section to libc's getpid; `lb_uprobe_manual`
// names no target and must be attached explicitly. Both uprobes count getpid() calls made
// by the pid in `lb_probe_pid`, in slots 0 (auto) and 1 (manual) of `lb_calls`.
// `lb_percpu` (unused by the programs) holds one 4-byte value per CPU, for user-space tests.
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>

char LICENSE[] SEC("license") = "Dual BSD/GPL";

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 2);
	__type(key, u32);
	__type(value, u64);
} lb_calls SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, u32);
	__type(value, u32);
} lb_probe_pid SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 2);
	__type(key, u32);
	__type(value, u32);
} lb_percpu SEC(".maps");

static __always_inline int count(u32 slot)
{
	u32 zero = 0, *pid = bpf_map_lookup_elem(&lb_probe_pid, &zero);
	u64 *calls;

	if (!pid || *pid != (bpf_get_current_pid_tgid() >> 32))
		return 0;
	calls = bpf_map_lookup_elem(&lb_calls, &slot);
	if (calls)
		__sync_fetch_and_add(calls, 1);
	return 0;
}

SEC("kprobe/do_sys_openat2")
int lb_kprobe(struct pt_regs *ctx)
{
	return 0;
}

SEC("uprobe/libc.so.6:getpid")
int lb_uprobe_auto(struct pt_regs *ctx)
{
	return count(0);
}

SEC("uprobe")
int lb_uprobe_manual(struct pt_regs *ctx)
{
	return count(1);
}
