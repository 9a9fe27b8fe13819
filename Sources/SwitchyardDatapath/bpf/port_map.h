/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * Port mapping for pods as DSR backends: one end of a TCP or UDP packet (after the Ethernet
 * header) as a `sy_port_key`, and the rewrite of that end's port with the L4 checksum fixed.
 *
 * Reads go through bpf_skb_load_bytes: this runs after bpf_skb_adjust_room (decap), where packet
 * pointers must be reloaded anyway, and it keeps variable IPv4 header lengths simple for the
 * verifier. Not mapped: IPv4 fragments after the first (no L4 header), IPv6 packets with
 * extension headers before TCP/UDP. ICMP errors quoting a mapped flow pass unchanged: a
 * packet-too-big about a reply quotes the service port, which no socket of the pod holds, so the
 * pod's PMTU for that client is not lowered. The advmss route makes such errors rare, and TCP
 * recovers by retransmission.
 */
#ifndef SY_PORT_MAP_H
#define SY_PORT_MAP_H

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

#ifndef BPF_F_MARK_MANGLED_0
#define BPF_F_MARK_MANGLED_0 (1ULL << 5)
#endif

#define SY_PORT_END_SOURCE	0
#define SY_PORT_END_DESTINATION 1

/*
 * Fills `key` with the address, port and protocol of the packet's source or destination end and
 * returns the L4 header's offset, or 0 when the packet has no TCP/UDP header to map.
 */
static __always_inline __u32 sy_port_key_of(struct __sk_buff *skb, struct sy_port_key *key, int end)
{
	__be16 h_proto, ports[2];
	__u32 l4;
	__u8 proto;

	if (bpf_skb_load_bytes(skb, offsetof(struct ethhdr, h_proto), &h_proto, sizeof(h_proto)))
		return 0;
	if (h_proto == bpf_htons(ETH_P_IP)) {
		struct iphdr ip;

		if (bpf_skb_load_bytes(skb, ETH_HLEN, &ip, sizeof(ip)))
			return 0;
		if (ip.ihl < 5 || (ip.frag_off & bpf_htons(0x1fff)))
			return 0;
		key->addr[0] = end == SY_PORT_END_SOURCE ? ip.saddr : ip.daddr;
		key->family = SY_FAMILY_V4;
		proto = ip.protocol;
		l4 = ETH_HLEN + ip.ihl * 4;
	} else if (h_proto == bpf_htons(ETH_P_IPV6)) {
		struct ipv6hdr ip6;

		if (bpf_skb_load_bytes(skb, ETH_HLEN, &ip6, sizeof(ip6)))
			return 0;
		__builtin_memcpy(key->addr, end == SY_PORT_END_SOURCE ? &ip6.saddr : &ip6.daddr, 16);
		key->family = SY_FAMILY_V6;
		proto = ip6.nexthdr;
		l4 = ETH_HLEN + sizeof(ip6);
	} else {
		return 0;
	}
	if (proto != IPPROTO_TCP && proto != IPPROTO_UDP)
		return 0;
	if (bpf_skb_load_bytes(skb, l4, ports, sizeof(ports)))
		return 0;
	key->port = ports[end == SY_PORT_END_SOURCE ? 0 : 1];
	key->proto = proto;
	return l4;
}

/*
 * Writes `to` over the port at `l4 + end * 2` (whose value is `from`) and updates the TCP/UDP
 * checksum incrementally: a port is not in the pseudo-header. A UDP checksum of 0 (none, IPv4)
 * stays 0 (BPF_F_MARK_MANGLED_0). Returns 0, or nonzero when the kernel refused.
 */
static __always_inline int sy_port_rewrite(struct __sk_buff *skb, __u32 l4, __u8 proto, int end, __be16 from, __be16 to)
{
	__u32 check = l4 + (proto == IPPROTO_TCP ? offsetof(struct tcphdr, check) : offsetof(struct udphdr, check));
	__u64 flags = sizeof(to) | (proto == IPPROTO_UDP ? BPF_F_MARK_MANGLED_0 : 0);

	if (bpf_l4_csum_replace(skb, check, from, to, flags))
		return -1;
	return bpf_skb_store_bytes(skb, l4 + (end == SY_PORT_END_SOURCE ? 0 : 2), &to, sizeof(to), 0);
}

#endif /* SY_PORT_MAP_H */
