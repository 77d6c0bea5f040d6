// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
// bee.libbpf tests: an fentry program, which some kernels refuse to load (EPERM).
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>

char LICENSE[] SEC("license") = "Dual BSD/GPL";

SEC("fentry/do_sys_openat2")
int BPF_PROG(lb_fentry, int dfd)
{
	return 0;
}
