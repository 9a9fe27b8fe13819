/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* Stage 4 — mirrors DatapathModel/Pipeline/Encap.swift. The outer family is the backend's; the
 * outer protocol says what is inside: 4 (IPv4), 41 (IPv6) or UDP for GUE variant 1. */
#ifndef SY_ENCAP_H
#define SY_ENCAP_H

#include "drop.h"

#define AF_INET_  2
#define AF_INET6_ 10

static __always_inline __u32 encap_overhead(__u8 outer_family, int gue)
{
	if (outer_family == SY_FAMILY_V4)
		return gue ? SY_OVERHEAD_GUE4 : SY_OVERHEAD_IPIP;
	return gue ? SY_OVERHEAD_GUE6 : SY_OVERHEAD_IP6IP6;
}

/* The cached FIB answer for `backend` (see struct sy_nexthop), if it is current. */
static __always_inline int cached_nexthop(struct ethhdr *eth, __u32 backend, __u32 ifindex, __u32 generation)
{
	struct sy_nexthop *n = bpf_map_lookup_elem(&sy_nexthops, &backend);

	if (!n || generation == 0 || n->generation != generation || n->ifindex != ifindex ||
	    n->check != sy_nexthop_check(n))
		return 0;
	__builtin_memcpy(eth->h_dest, n->dmac, ETH_ALEN);
	__builtin_memcpy(eth->h_source, n->smac, ETH_ALEN);
	return 1;
}

static __always_inline void cache_nexthop(const struct bpf_fib_lookup *fib, __u32 backend, __u32 ifindex,
					  __u32 generation)
{
	struct sy_nexthop *n = bpf_map_lookup_elem(&sy_nexthops, &backend);

	if (!n || generation == 0)
		return;
	__builtin_memcpy(n->dmac, fib->dmac, ETH_ALEN);
	__builtin_memcpy(n->smac, fib->smac, ETH_ALEN);
	n->ifindex = ifindex;
	n->generation = generation;
	n->check = sy_nexthop_check(n);
}

/* Output MACs: the node's configured pair; else the FIB's answer for the outer destination,
 * cached per backend until the agent reports a neighbour, route or link change; else the
 * input's swapped. */
static __always_inline void set_macs(struct xdp_md *ctx, struct ethhdr *eth, const __u8 *in_src, const __u8 *in_dst,
				     const struct sy_node *node, const struct sy_backend *be, __u32 backend)
{
	struct bpf_fib_lookup fib = {};
	__u32 zero = 0, generation;
	__u32 *current;

	if (node->flags & SY_NODE_F_NEXTHOP_MAC) {
		__builtin_memcpy(eth->h_dest, node->nexthop_mac, ETH_ALEN);
		__builtin_memcpy(eth->h_source, node->src_mac, ETH_ALEN);
		return;
	}
	current = bpf_map_lookup_elem(&sy_fib_generation, &zero);
	generation = current ? *current : 0;
	if (cached_nexthop(eth, backend, ctx->ingress_ifindex, generation))
		return;
	fib.ifindex = ctx->ingress_ifindex;
	if (be->family == SY_FAMILY_V4) {
		fib.family = AF_INET_;
		fib.ipv4_src = node->ipv4_source;
		fib.ipv4_dst = be->addr[0];
	} else {
		fib.family = AF_INET6_;
		__builtin_memcpy(fib.ipv6_src, node->ipv6_source, 16);
		__builtin_memcpy(fib.ipv6_dst, be->addr, 16);
	}
	if (bpf_fib_lookup(ctx, &fib, sizeof(fib), 0) == BPF_FIB_LKUP_RET_SUCCESS) {
		__builtin_memcpy(eth->h_dest, fib.dmac, ETH_ALEN);
		__builtin_memcpy(eth->h_source, fib.smac, ETH_ALEN);
		cache_nexthop(&fib, backend, ctx->ingress_ifindex, generation);
		return;
	}
	count_event(SY_EVENT_FIB_MISS);
	__builtin_memcpy(eth->h_dest, in_src, ETH_ALEN);
	__builtin_memcpy(eth->h_source, in_dst, ETH_ALEN);
}

/* XDP_TX with the frame wrapped for its backend, or a counted drop. */
static __always_inline int encapsulate(struct xdp_md *ctx, const struct pkt *p, const struct sy_backend *be,
				       __u32 backend, const struct sy_service *svc, __u64 hash,
				       const struct sy_node *node)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	int gue = (svc->flags & SY_SVC_F_GUE) != 0;
	__u8 inner_proto = gue ? IPPROTO_UDP : (p->family == SY_FAMILY_V4 ? IPPROTO_IPIP : IPPROTO_IPV6_);
	__u32 gue_len = gue ? sizeof(struct udphdr) : 0;
	__u32 overhead = encap_overhead(be->family, gue);
	__u8 in_src[ETH_ALEN], in_dst[ETH_ALEN];
	struct ethhdr *eth = data;
	__u32 outer_len;

	if ((void *)(eth + 1) > data_end)
		return count_drop(SY_DROP_ENCAP_FAILED);
	if (be->family == SY_FAMILY_V4
		    ? node->ipv4_source == 0
		    : (node->ipv6_source[0] | node->ipv6_source[1] | node->ipv6_source[2] | node->ipv6_source[3]) == 0)
		return count_drop(SY_DROP_NO_SOURCE_ADDRESS);
	__builtin_memcpy(in_src, eth->h_source, ETH_ALEN);
	__builtin_memcpy(in_dst, eth->h_dest, ETH_ALEN);

	if (bpf_xdp_adjust_head(ctx, -(int)overhead))
		return count_drop(SY_DROP_ENCAP_FAILED);
	data = (void *)(long)ctx->data;
	data_end = (void *)(long)ctx->data_end;
	eth = data;
	if ((void *)(eth + 1) > data_end)
		return count_drop(SY_DROP_ENCAP_FAILED);
	set_macs(ctx, eth, in_src, in_dst, node, be, backend);

	if (be->family == SY_FAMILY_V4) {
		struct iphdr *o = data + ETH_HLEN_;

		if ((void *)(o + 1) > data_end)
			return count_drop(SY_DROP_ENCAP_FAILED);
		eth->h_proto = bpf_htons(ETH_P_IP);
		o->version = 4;
		o->ihl = 5;
		o->tos = p->tos;
		o->tot_len = bpf_htons(sizeof(*o) + gue_len + p->ip_len);
		/* Inner IPv4 keeps its ID and DF (RFC 2003 §3.1); inner IPv6 must not be fragmented
		 * on the way, so DF is set and the ID unused (RFC 6864 §4.1). */
		o->id = p->family == SY_FAMILY_V4 ? p->ip_id : 0;
		o->frag_off = (p->family == SY_FAMILY_V4 && !p->df) ? 0 : bpf_htons(0x4000);
		o->ttl = SY_ENCAP_TTL;
		o->protocol = inner_proto;
		o->check = 0;
		o->saddr = node->ipv4_source;
		o->daddr = be->addr[0];
		o->check = ipv4_header_csum(o);
		outer_len = sizeof(*o);
	} else {
		struct ipv6hdr *o6 = data + ETH_HLEN_;

		if ((void *)(o6 + 1) > data_end)
			return count_drop(SY_DROP_ENCAP_FAILED);
		eth->h_proto = bpf_htons(ETH_P_IPV6);
		*(__be32 *)o6 = bpf_htonl(6u << 28 | (__u32)p->tos << 20 | ((__u32)hash & 0xfffff));
		o6->payload_len = bpf_htons(gue_len + p->ip_len);
		o6->nexthdr = inner_proto;
		o6->hop_limit = SY_ENCAP_TTL;
		__builtin_memcpy(&o6->saddr, node->ipv6_source, 16);
		__builtin_memcpy(&o6->daddr, be->addr, 16);
		outer_len = sizeof(*o6);
	}
	if (gue) {
		struct udphdr *uh = data + ETH_HLEN_ + outer_len;

		if ((void *)(uh + 1) > data_end)
			return count_drop(SY_DROP_ENCAP_FAILED);
		uh->source = bpf_htons(SY_GUE_SOURCE_PORT_BASE | ((__u32)hash & SY_GUE_SOURCE_PORT_MASK));
		uh->dest = svc->gue_port;
		uh->len = bpf_htons(sizeof(*uh) + p->ip_len);
		uh->check = 0; /* zero UDP checksum for tunnels: RFC 6935, RFC 6936 */
	}
	return XDP_TX;
}

#endif
