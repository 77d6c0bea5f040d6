// Parameters (tests/unit/params, tests/run/test_params.py): one `const volatile` global of every kind
// bee sets, and the globals that are not parameters. On each exec of a process whose command name is
// `trigger` (itself a parameter), the values the kernel sees are copied into one print_params event,
// so a run shows what its --param values became in the kernel.
#include "vmlinux.h"
#include "bpf/bpf_helpers.h"
#include "bpf/bpf_endian.h"

char LICENSE[] SEC("license") = "Dual BSD/GPL";

// solo_types.h's typedefs, with a 16-byte ipv6_addr (solo_types.h makes it a u32)
typedef u32 ipv4_addr;
typedef u64 duration;
typedef unsigned char ipv6_addr[16];

enum level { LOW = 1, MID = 5, HIGH = 9 };

struct pair {
	u32 a;
	u32 b;
};

// the parameters, in .rodata
const volatile char trigger[16] = "beeparams";
const volatile u32 count = 7;
const volatile s16 offset = -3;
const volatile u64 big = 0x1122334455667788ULL;
const volatile bool enabled = true;
const volatile enum level level = MID;
const volatile char label[8] = "bee";
const volatile ipv4_addr addr = bpf_htonl(0x7f000001); // 127.0.0.1
const volatile ipv6_addr addr6 = { 0x20, 0x01, 0x0d, 0xb8, [15] = 1 }; // 2001:db8::1
const volatile duration wait = 1500000; // 1.5ms
const volatile u16 ports[4] = { 80, 443 };
const volatile u8 mask[3];
const volatile struct pair pair = { 1, 2 }; // a parameter bee cannot set

// not parameters: static, not volatile, mutable (.data, .bss)
static const volatile u32 hidden = 1;
const u32 folded = 5;
u64 total = 1;
u32 seen;

struct event {
	u32 count;
	s16 offset;
	u64 big;
	bool enabled;
	enum level level;
	char label[8];
	ipv4_addr addr;
	ipv6_addr addr6;
	duration wait;
	u16 ports[4];
	u8 mask[3];
	char comm[16];
};

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 1 << 16);
	__type(value, struct event);
} print_params SEC(".maps");

SEC("tracepoint/sched/sched_process_exec")
int on_exec_params(void *ctx)
{
	char comm[16] = {};
	struct event *e;
	int i;

	bpf_get_current_comm(comm, sizeof(comm));
	for (i = 0; i < 16; i++) {
		if (comm[i] != trigger[i])
			return 0;
		if (!comm[i])
			break;
	}
	e = bpf_ringbuf_reserve(&print_params, sizeof(*e), 0);
	if (!e)
		return 0;
	__builtin_memset(e, 0, sizeof(*e));
	e->count = count;
	e->offset = offset;
	e->big = big;
	e->enabled = enabled;
	e->level = level;
	for (i = 0; i < 8; i++)
		e->label[i] = label[i];
	e->addr = addr;
	for (i = 0; i < 16; i++)
		e->addr6[i] = addr6[i];
	e->wait = wait;
	for (i = 0; i < 4; i++)
		e->ports[i] = ports[i];
	for (i = 0; i < 3; i++)
		e->mask[i] = mask[i];
	__builtin_memcpy(e->comm, comm, sizeof(comm));
	seen += hidden + folded + pair.a;
	total++;
	bpf_ringbuf_submit(e, 0);
	return 0;
}
