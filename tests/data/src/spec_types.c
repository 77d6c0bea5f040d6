// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
// Test object for bee.elf (tests/unit/elf): BTF kinds and layouts beyond the usual event
// struct: unions, anonymous members, deep nesting, multi-dimensional arrays, qualifiers,
// pointers, floats, packed and signed enums, declaration and type tags, global variables
// in data sections, and functions of each linkage. It only has to compile, not to load.
#include "vmlinux.h"
#include "bpf/bpf_helpers.h"
#include "bpf/bpf_tracing.h"
#include "bpf/bpf_core_read.h"
#include "solo_types.h"

char LICENSE[] SEC("license") = "GPL";

enum signed_values {
	NEG_ONE = -1,
	POS_ONE = 1,
};

enum __attribute__((packed)) tiny {
	TINY_A = 1,
	TINY_B = 200,
};

enum wide {
	WIDE_BIG = 0x100000000ULL,
};

struct point {
	s32 x;
	s32 y;
};

struct line {
	struct point from;
	struct point to;
};

typedef struct point point_t;

struct bee_undefined;

struct zoo {
	u8 tag;
	union {
		u32 as_u32;
		u8 as_bytes[4];
	};
	struct {
		u16 lo;
		u16 hi;
	} halves;
	struct line segment;
	point_t origin;
	int grid[2][3];
	const char *name;
	volatile u32 counter;
	const volatile u64 limit;
	void *opaque;
	struct bee_undefined *unknown;
	char *__restrict rp;
	int (*callback)(int, char *);
	float ratio;
	double precise;
	enum signed_values sign;
	enum tiny small;
	enum wide big;
	int tagged __attribute__((btf_decl_tag("bee_label")));
	int __attribute__((btf_type_tag("user"))) *uptr;
	ipv6_addr addr6;
	u64 bits_lo : 12;
	u64 bits_hi : 52;
};

union number {
	s64 i;
	u64 u;
	double f;
};

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 1 << 12);
	__type(value, struct zoo);
} print_zoo SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 16);
	__type(key, union number);
	__type(value, u64);
} counter_numbers SEC(".maps");

const volatile u32 config_pid = 0;
u64 total_calls = 0;
static u32 hidden_state = 3;
extern const void bpf_prog_active __ksym;
extern void bpf_rcu_read_lock(void) __ksym __weak;

int global_helper(int v)
{
	return v + (int)hidden_state;
}

static __noinline int static_helper(int v)
{
	return v * hidden_state - 1;
}

SEC("tracepoint/syscalls/sys_enter_write")
int handle_write(struct trace_event_raw_sys_enter *ctx)
{
	struct zoo *z;

	if (config_pid && (bpf_get_current_pid_tgid() >> 32) != config_pid)
		return 0;
	total_calls++;
	hidden_state = global_helper(static_helper(bpf_get_prandom_u32()));
	if (bpf_rcu_read_lock)
		bpf_rcu_read_lock();
	z = bpf_ringbuf_reserve(&print_zoo, sizeof(*z), 0);
	if (!z)
		return 0;
	z->tag = 1;
	z->opaque = (void *)&bpf_prog_active;
	bpf_ringbuf_submit(z, 0);
	return 0;
}
