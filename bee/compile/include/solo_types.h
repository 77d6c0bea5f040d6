/* Types bee (and Bumblebee) give meaning to when decoding map keys and values.
 *
 * ipv4_addr  an IPv4 address in network byte order, shown as a dotted quad
 * ipv6_addr  a u32, as Bumblebee has it; a 16-byte field typedef'd ipv6_addr is shown as RFC 5952 text
 * duration   nanoseconds, shown Go-style (1.5ms)
 *
 * Label types: numbers shown as the name the running system gives them (labels that read like names)
 * ksym_t     a kernel address (u64), shown as the kernel symbol it is in (/proc/kallsyms): do_sys_openat2
 * errno_t    an error number (s32 or s64), negative as the kernel returns it or positive: ENOENT
 * ifindex_t  a network interface index (u32), shown as the interface's name: lo
 * cgroup_t   a cgroup v2 id (u64, bpf_get_current_cgroup_id()), shown as its path: /system.slice/cron.service
 * syscall_t  a system call number (s32 or s64), shown as its name on the machine's architecture: openat
 * kstack_t   a stack id from bpf_get_stackid() (s32 or s64), shown as the kernel stack it names in the
 *            program's one BPF_MAP_TYPE_STACK_TRACE map, root first: ...;do_nanosleep;schedule
 *
 * Help text and unit of a map, in its metrics' # HELP line and in bee describe:
 *   struct { ... } counter_opens SEC(".maps") BEE_HELP("Files opened, by command") BEE_UNIT("opens");
 */
#ifndef __SOLO_TYPES_H
#define __SOLO_TYPES_H

typedef u32 ipv4_addr;
typedef u32 ipv6_addr;
typedef u64 duration;
typedef u64 ksym_t;
typedef s32 errno_t;
typedef u32 ifindex_t;
typedef u64 cgroup_t;
typedef s64 syscall_t;
typedef s32 kstack_t;

#define BEE_HELP(text) __attribute__((btf_decl_tag("bee.help:" text)))
#define BEE_UNIT(unit) __attribute__((btf_decl_tag("bee.unit:" unit)))

#endif /* __SOLO_TYPES_H */
