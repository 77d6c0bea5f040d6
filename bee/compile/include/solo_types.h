/* Types bee (and Bumblebee) give meaning to when decoding map keys and values.
 *
 * ipv4_addr  an IPv4 address in network byte order, shown as a dotted quad
 * ipv6_addr  a u32, as Bumblebee has it; a 16-byte field typedef'd ipv6_addr is shown as RFC 5952 text
 * duration   nanoseconds, shown Go-style (1.5ms)
 */
#ifndef __SOLO_TYPES_H
#define __SOLO_TYPES_H

typedef u32 ipv4_addr;
typedef u32 ipv6_addr;
typedef u64 duration;

#endif /* __SOLO_TYPES_H */
