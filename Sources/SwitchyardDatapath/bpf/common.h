/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* Shared includes and small helpers for the Switchyard BPF programs. */
#ifndef SY_COMMON_H
#define SY_COMMON_H

#include <linux/bpf.h>
#include <linux/if_ether.h>
#include <linux/in.h>
#include <linux/ip.h>
#include <linux/ipv6.h>
#include <linux/tcp.h>
#include <linux/udp.h>
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>

#include "switchyard_abi.h"

#define ETH_HLEN_     14
#define IPV6_HLEN     40
#define IPPROTO_IPV6_ 41

/* ICMP numbers (linux/icmp.h drags in libc socket headers that do not build for BPF). */
#define ICMP_DEST_UNREACH   3
#define ICMP_FRAG_NEEDED    4
#define ICMP_TIME_EXCEEDED  11
#define ICMP_PARAMETERPROB  12
#define ICMPV6_DEST_UNREACH 1
#define ICMPV6_PKT_TOOBIG   2
#define ICMPV6_PARAMPROB    4

/* What the parse stage learnt about a packet. Offsets are from the start of the frame. */
struct pkt {
	__u32 l3;     /* IP header */
	__u32 l4;     /* transport header */
	__u32 ip_len; /* IP packet length per its header */
	__u32 ip_end; /* l3 + ip_len */
	__u8 family;  /* SY_FAMILY_V4 / V6 */
	__u8 proto;   /* transport protocol */
	__u8 tos;     /* IPv4 TOS or IPv6 traffic class */
	__u8 df;      /* IPv4 DF (IPv6: 1) */
	__be16 ip_id; /* IPv4 ID */
	__be16 sport;
	__be16 dport;
	__u8 tcp_flags;
	__u8 pad;
	__be32 src[4];
	__be32 dst[4];
	struct sy_service *svc; /* found by peek_service, or NULL */
};

/* Fold a 32/64-bit one's-complement partial sum to 16 bits. */
static __always_inline __u16 csum_fold(__u64 sum)
{
	sum = (sum & 0xffffffff) + (sum >> 32);
	sum = (sum & 0xffff) + (sum >> 16);
	sum = (sum & 0xffff) + (sum >> 16);
	sum = (sum & 0xffff) + (sum >> 16);
	return (__u16)sum;
}

/* Checksum of a 20-byte IPv4 header with its checksum field zero. Summing 16-bit words in
 * memory order and storing the result unswapped is byte-order independent (RFC 1071 §2(B)). */
static __always_inline __u16 ipv4_header_csum(const struct iphdr *iph)
{
	const __u16 *w = (const __u16 *)iph;
	__u64 sum = 0;

#pragma unroll
	for (int i = 0; i < 10; i++)
		sum += w[i];
	return ~csum_fold(sum);
}

#endif
