// SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause)
// Test object for bee.decode (tests/unit/decode): layouts the decoder must follow byte for
// byte, as clang lays them out: padding, packed structs, and bitfields (signed, unsigned,
// crossing bytes, wider than eight bytes, _Bool and enum bitfields). Only has to compile.
// The *_sample globals hold values in .data: the bytes clang itself lays out for them.
#include "vmlinux.h"
#include "bpf/bpf_helpers.h"

char LICENSE[] SEC("license") = "Dual BSD/GPL";

enum __attribute__((packed)) dec_small {
	DEC_SMALL_A = 1,
	DEC_SMALL_B = 200,
};

/* Padding after a u8 before a u64, and after an s8 before an s64. */
struct padded {
	u8 a;
	u64 b;
	u16 c;
	s32 d;
	s8 e;
	s64 f;
};

/* No padding at all: members at unaligned offsets. */
struct __attribute__((packed)) packed {
	u8 a;
	u32 b;
	u64 c;
	s16 d;
};

struct bits {
	u8 lead;
	u64 u3 : 3;
	s64 s5 : 5;
	u64 span : 12;
	s64 neg : 7; /* crosses from byte 3 into byte 4 */
	u64 wide : 29;
	_Bool flag : 1;
	enum dec_small small : 7;
	u16 tail;
	int last : 20;
};

/* Bitfields spanning nine bytes: read as more than one piece. */
struct __attribute__((packed)) wide_bits {
	u8 a;
	u64 b : 60;
	s64 c : 60;
	u8 z;
};

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 1 << 12);
	__type(value, struct padded);
} print_padded SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 1 << 12);
	__type(value, struct packed);
} print_packed SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 1 << 12);
	__type(value, struct bits);
} print_bits SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_RINGBUF);
	__uint(max_entries, 1 << 12);
	__type(value, struct wide_bits);
} print_wide_bits SEC(".maps");

struct padded padded_sample = { .a = 0xa1, .b = 0x1122334455667788ULL, .c = 0xc3c3, .d = -5, .e = -6, .f = -7 };

struct packed packed_sample = { .a = 0xa1, .b = 0xb2b2b2b2, .c = 0x0102030405060708ULL, .d = -300 };

struct bits bits_sample = {
	.lead = 0xab, .u3 = 5, .s5 = -3, .span = 0xabc, .neg = -60, .wide = 0x1abcdef1,
	.flag = 1, .small = DEC_SMALL_A, .tail = 0xbeef, .last = -123456,
};

struct wide_bits wide_bits_sample = { .a = 0x11, .b = 0xfedcba987654321ULL, .c = -0x123456789abcdefLL, .z = 0x99 };
