// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
// Test object for bee.decode (tests/unit/decode): every kind of value the decoder presents:
// integers of each size and sign, _Bool, char, 128-bit integers, floats, pointers, enums,
// nested structs, anonymous unions and structs, arrays (strings, numbers, structs, enums),
// the solo_types.h typedefs, and map keys and values that are not structs. Only has to compile.
// The *_sample globals hold values in .data: the bytes clang itself lays out for them.
#include "vmlinux.h"
#include "bpf/bpf_helpers.h"
#include "solo_types.h"

char LICENSE[] SEC("license") = "Dual BSD/GPL";

enum dec_state {
	DEC_IDLE = 0,
	DEC_RUNNING = 1,
	DEC_ALIAS = 1, /* the first name of a value wins */
	DEC_NEG = -2,
};

typedef ipv4_addr peer_addr; /* the typedef chain still holds ipv4_addr */

struct scalars {
	_Bool ok;
	bool yes;
	char c;
	u8 u;
	s8 s;
	s16 h;
	u32 i;
	s64 q;
	unsigned __int128 big;
	__int128 sbig;
	float ratio;
	double precise;
	void *ptr;
	const char *name;
	volatile u32 counter;
	ipv4_addr saddr;
	peer_addr peer;
	ipv6_addr daddr6; /* a u32 in solo_types.h: an integer */
	duration elapsed;
	enum dec_state state;
	enum dec_state neg_state;
};

struct inner {
	u16 port;
	u8 proto;
};

struct nested {
	u32 id;
	struct inner where;
	union {
		u32 as_u32;
		u8 as_bytes[4];
	};
	struct {
		u16 lo;
		u16 hi;
	};
	union {
		s16 i;
		u16 u;
	} num;
	struct inner pair[2];
};

struct arrays {
	char comm[16];
	unsigned char ucomm[8];
	signed char scomm[4];
	u8 raw[6];
	u32 samples[3];
	int grid[2][3];
	u64 many[40];
	enum dec_state states[2];
	_Bool bools[3];
	ipv4_addr hops[2];
	char names[2][4];
	char tail[0];
};

/* A typical event: what a connection tracer sends. */
struct conn_event {
	u32 pid;
	u32 uid;
	ipv4_addr saddr;
	ipv4_addr daddr;
	u16 dport;
	char comm[16];
	duration latency;
};

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 1 << 12);
	__type(value, struct scalars);
} print_scalars SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 1 << 12);
	__type(value, struct nested);
} print_nested SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 1 << 12);
	__type(value, struct arrays);
} print_arrays SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 1 << 12);
	__type(value, struct conn_event);
} counter_conns SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 64);
	__type(key, u32);
	__type(value, u64);
} counter_by_pid SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, 64);
	__type(key, struct inner);
	__type(value, duration);
} gauge_by_port SEC(".maps");

struct scalars scalars_sample = {
	.ok = 1, .yes = 0, .c = 'x', .u = 200, .s = -100, .h = -30000, .i = 4000000000U,
	.q = -9000000000000000000LL, .big = ((unsigned __int128)1 << 100) + 7, .sbig = -((__int128)1 << 90),
	.ratio = 1.5f, .precise = -2.25, .ptr = (void *)0x1234, .name = 0, .counter = 7,
	.saddr = 0x0100007f, /* 127.0.0.1: network order in memory on a little-endian target */
	.peer = 0x0101a8c0, .daddr6 = 0x01020304, .elapsed = 1500000, .state = DEC_RUNNING, .neg_state = DEC_NEG,
};

struct nested nested_sample = {
	.id = 7, .where = { .port = 8080, .proto = 6 }, .as_u32 = 0x04030201, .lo = 1, .hi = 2,
	.num = { .i = -2 }, .pair = { { .port = 80, .proto = 6 }, { .port = 53, .proto = 17 } },
};

struct arrays arrays_sample = {
	.comm = "bash", .ucomm = "h\xc3\xa9llo", .scomm = { 'a', 'b', 'c', 'd' }, .raw = { 1, 2, 3, 4, 5, 6 },
	.samples = { 1, 2, 3 }, .grid = { { 1, 2, 3 }, { 4, 5, 6 } }, .many = { [0] = 1, [39] = 40 },
	.states = { DEC_RUNNING, 5 }, .bools = { 1, 0, 1 }, .hops = { 0x0100007f, 0x0101a8c0 }, .names = { "ab", "cd" },
};

struct conn_event conn_sample = {
	.pid = 1234, .uid = 1000, .saddr = 0x0100007f, .daddr = 0x0200000a, .dport = 443, .comm = "curl",
	.latency = 1532000,
};
