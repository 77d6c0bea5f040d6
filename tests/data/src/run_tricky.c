// bee run tests: layouts beyond run_types.c (unions, anonymous nested structs, arrays of structs,
// enums with negative and unnamed values, extreme integers, a char array with no NUL, a 1-bit bool
// before a 31-bit field), written by a process whose command name is "beetricky".
#include "vmlinux.h"
#include "bpf/bpf_helpers.h"
#include "solo_types.h"

enum signed_enum { NEG = -2, ZERO = 0, BIG = 100 };

struct point {
	s16 x;
	s16 y;
};

struct deep {
	struct {
		u8 tag;
		union {
			u32 as_int;
			u8 as_bytes[4];
		};
	} mid;
	struct point pts[2];
};

struct event {
	s8 tiny;
	u64 umax;
	s64 smin;
	char full[4];         // no NUL inside
	enum signed_enum e1;
	enum signed_enum e2;  // a value no enumerator has
	struct deep d;
	bool b : 1;
	u32 rest : 31;
	u8 raw[3];
	duration d0;
	duration dbig;
	ipv4_addr a4;
	char comm[16];
};

struct tkey {
	char comm[16];
	enum signed_enum kind;
};

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 1 << 16);
	__type(value, struct event);
} print_tricky SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 16);
	__type(key, struct tkey);
	__type(value, s64);
} gauge_tricky SEC(".maps");

SEC("tracepoint/sched/sched_process_exec")
int on_exec(void *ctx)
{
	char comm[16] = {};

	bpf_get_current_comm(comm, sizeof(comm));
	if (comm[0] != 'b' || comm[1] != 'e' || comm[2] != 'e' || comm[3] != 't' || comm[4] != 'r' ||
	    comm[5] != 'i' || comm[6] != 'c' || comm[7] != 'k' || comm[8] != 'y' || comm[9])
		return 0;
	struct event *e = bpf_ringbuf_reserve(&print_tricky, sizeof(*e), 0);
	if (!e)
		return 0;
	__builtin_memset(e, 0, sizeof(*e));
	e->tiny = -128;
	e->umax = 0xffffffffffffffffULL;
	e->smin = (s64)0x8000000000000000ULL;
	__builtin_memcpy(e->full, "abcd", 4);
	e->e1 = NEG;
	e->e2 = (enum signed_enum)7;
	e->d.mid.tag = 9;
	e->d.mid.as_int = 0x01020304;
	e->d.pts[0].x = -1;
	e->d.pts[0].y = 2;
	e->d.pts[1].x = 32767;
	e->d.pts[1].y = -32768;
	e->b = 1;
	e->rest = 0x7fffffff;
	e->raw[1] = 255;
	e->raw[2] = 7;
	e->dbig = 3723004500000ULL;  // 1h2m3.0045s
	e->a4 = 0x0100007f;          // 127.0.0.1 in network byte order
	__builtin_memcpy(e->comm, comm, sizeof(e->comm));
	bpf_ringbuf_submit(e, 0);

	struct tkey key = {};
	s64 value = -42;

	__builtin_memcpy(key.comm, comm, sizeof(key.comm));
	key.kind = NEG;
	bpf_map_update_elem(&gauge_tricky, &key, &value, BPF_ANY);
	return 0;
}

char LICENSE[] SEC("license") = "GPL";
