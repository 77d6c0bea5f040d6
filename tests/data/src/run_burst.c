// bee run tests: a ring buffer too small for a burst. A process called "beeburst" opens files
// in a loop; each open is a 2 KiB event into a 4 KiB ring, which holds one of them, so the ring
// is full whenever bee has not read it yet, and the kernel refuses events meanwhile.
#include "vmlinux.h"
#include "bpf/bpf_helpers.h"

struct burst {
	char comm[16];
	char pad[2032];
};

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 4096);
	__type(value, struct burst);
} print_burst SEC(".maps");

SEC("tracepoint/syscalls/sys_enter_openat")
int on_openat(void *ctx)
{
	char comm[16] = {};

	bpf_get_current_comm(comm, sizeof(comm));
	if (comm[0] != 'b' || comm[1] != 'e' || comm[2] != 'e' || comm[3] != 'b' || comm[4] != 'u' ||
	    comm[5] != 'r' || comm[6] != 's' || comm[7] != 't' || comm[8])
		return 0;
	struct burst *e = bpf_ringbuf_reserve(&print_burst, sizeof(*e), 0);
	if (!e)
		return 0;
	__builtin_memcpy(e->comm, comm, sizeof(e->comm));
	bpf_ringbuf_submit(e, 0);
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
