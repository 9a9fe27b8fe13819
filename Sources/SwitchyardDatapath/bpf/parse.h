/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* Stage 1 — mirrors DatapathModel/Pipeline/Parse.swift. Ethernet and IP, bounds and lengths,
 * the VIP test, fragments, IPv6 extension headers, then the transport ports. */
#ifndef SY_PARSE_H
#define SY_PARSE_H

#include "drop.h"

#define SY_CONTINUE (-1)

static __always_inline struct sy_service *peek_service(void *data, void *data_end, __u32 l4, __u32 ip_end,
						       const __be32 *dst, __u8 family, __u8 proto);

static __always_inline int is_vip(const __be32 *addr, __u32 family)
{
	struct sy_vip_addr key = {};

	key.addr[0] = addr[0];
	key.addr[1] = addr[1];
	key.addr[2] = addr[2];
	key.addr[3] = addr[3];
	key.family = family;
	return bpf_map_lookup_elem(&sy_vips, &key) != NULL;
}

/* 0 when the prefilter proves `addr` is no VIP (see struct sy_vip_filter); 1 when it may be. */
static __always_inline int maybe_vip(const __be32 *addr, __u32 family)
{
	__u32 zero = 0, bit = sy_vip_filter_bit(addr, family);
	struct sy_vip_filter *f = bpf_map_lookup_elem(&sy_vip_filter, &zero);

	if (!f)
		return 1;
	return (f->word[(bit / 64) & (SY_VIP_FILTER_WORDS - 1)] >> (bit % 64)) & 1;
}

static __always_inline int parse_ipv4(void *data, void *data_end, struct pkt *p)
{
	struct iphdr *iph = data + ETH_HLEN_;
	__u32 len = data_end - data;
	__u32 hl, tot;
	__u16 frag;

	if ((void *)(iph + 1) > data_end)
		return count_drop(SY_DROP_IP_TRUNCATED);
	if (iph->version != 4)
		return count_drop(SY_DROP_IP_BAD_VERSION);
	hl = iph->ihl * 4;
	if (hl < 20)
		return count_drop(SY_DROP_IP_BAD_HEADER_LEN);
	if (ETH_HLEN_ + hl > len)
		return count_drop(SY_DROP_IP_TRUNCATED);
	tot = bpf_ntohs(iph->tot_len);
	if (tot < hl || ETH_HLEN_ + tot > len)
		return count_drop(SY_DROP_IP_BAD_TOTAL_LEN);

	p->dst[0] = iph->daddr;
	if (!maybe_vip(p->dst, SY_FAMILY_V4))
		return XDP_PASS;
	p->svc = peek_service(data, data_end, ETH_HLEN_ + hl, ETH_HLEN_ + tot, p->dst, SY_FAMILY_V4, iph->protocol);
	if (!p->svc && !is_vip(p->dst, SY_FAMILY_V4))
		return XDP_PASS;
	frag = bpf_ntohs(iph->frag_off);
	if (frag & 0x3fff) /* MF or an offset */
		return count_drop(SY_DROP_FRAGMENT);

	p->family = SY_FAMILY_V4;
	p->l3 = ETH_HLEN_;
	p->ip_len = tot;
	p->ip_end = ETH_HLEN_ + tot;
	p->l4 = ETH_HLEN_ + hl;
	p->proto = iph->protocol;
	p->src[0] = iph->saddr;
	p->tos = iph->tos;
	p->ip_id = iph->id;
	p->df = (frag & 0x4000) != 0;
	return SY_CONTINUE;
}

static __always_inline int is_skippable_ext(__u8 nh)
{
	return nh == IPPROTO_HOPOPTS || nh == IPPROTO_ROUTING || nh == IPPROTO_DSTOPTS;
}

static __always_inline int parse_ipv6(void *data, void *data_end, struct pkt *p)
{
	struct ipv6hdr *ip6 = data + ETH_HLEN_;
	__u32 len = data_end - data;
	__u32 ip_len, off;
	__u8 nh;

	if ((void *)(ip6 + 1) > data_end)
		return count_drop(SY_DROP_IP_TRUNCATED);
	if (ip6->version != 6)
		return count_drop(SY_DROP_IP_BAD_VERSION);
	ip_len = IPV6_HLEN + bpf_ntohs(ip6->payload_len);
	if (ETH_HLEN_ + ip_len > len)
		return count_drop(SY_DROP_IP_BAD_TOTAL_LEN);

	__builtin_memcpy(p->dst, &ip6->daddr, 16);
	if (!maybe_vip(p->dst, SY_FAMILY_V6))
		return XDP_PASS;
	p->svc = peek_service(data, data_end, ETH_HLEN_ + IPV6_HLEN, ETH_HLEN_ + ip_len, p->dst, SY_FAMILY_V6,
			      ip6->nexthdr);
	if (!p->svc && !is_vip(p->dst, SY_FAMILY_V6))
		return XDP_PASS;

	p->ip_end = ETH_HLEN_ + ip_len;
	nh = ip6->nexthdr;
	off = ETH_HLEN_ + IPV6_HLEN;
#pragma unroll
	for (int i = 0; i < SY_IPV6_MAX_EXT_HEADERS; i++) {
		__u8 *h;
		__u32 ext_len;

		if (nh == IPPROTO_FRAGMENT)
			return count_drop(SY_DROP_FRAGMENT);
		if (!is_skippable_ext(nh))
			break;
		if (off + 2 > p->ip_end)
			return count_drop(SY_DROP_IPV6_EXT_TRUNCATED);
		h = data + off;
		if ((void *)(h + 2) > data_end)
			return count_drop(SY_DROP_IPV6_EXT_TRUNCATED);
		ext_len = ((__u32)h[1] + 1) * 8;
		if (off + ext_len > p->ip_end)
			return count_drop(SY_DROP_IPV6_EXT_TRUNCATED);
		nh = h[0];
		off += ext_len;
	}
	if (is_skippable_ext(nh))
		return count_drop(SY_DROP_IPV6_EXT_TOO_MANY);
	if (nh == IPPROTO_FRAGMENT)
		return count_drop(SY_DROP_FRAGMENT);

	p->family = SY_FAMILY_V6;
	p->l3 = ETH_HLEN_;
	p->ip_len = ip_len;
	p->l4 = off;
	p->proto = nh;
	__builtin_memcpy(p->src, &ip6->saddr, 16);
	p->tos = (ip6->priority << 4) | (ip6->flow_lbl[0] >> 4);
	p->ip_id = 0;
	p->df = 1;
	return SY_CONTINUE;
}

/* XDP_PASS (not ours), XDP_DROP (counted) or SY_CONTINUE with *p filled. */
static __always_inline int parse_ip(struct xdp_md *ctx, struct pkt *p)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	struct ethhdr *eth = data;

	if ((void *)(eth + 1) > data_end)
		return count_drop(SY_DROP_ETH_TRUNCATED);
	if (eth->h_proto == bpf_htons(ETH_P_IP))
		return parse_ipv4(data, data_end, p);
	if (eth->h_proto == bpf_htons(ETH_P_IPV6))
		return parse_ipv6(data, data_end, p);
	return XDP_PASS;
}

/* TCP/UDP ports and TCP flags at p->l4, bounded by the IP length. */
static __always_inline int parse_ports(struct xdp_md *ctx, struct pkt *p)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	__u32 l4 = p->l4;

	if (l4 > 0x3fff) /* never: bounds the offset for the verifier */
		return count_drop(SY_DROP_L4_TRUNCATED);
	if (p->proto == IPPROTO_TCP) {
		struct tcphdr *th = data + l4;
		__u32 doff;

		if (l4 + 20 > p->ip_end || (void *)(th + 1) > data_end)
			return count_drop(SY_DROP_L4_TRUNCATED);
		doff = th->doff * 4;
		if (doff < 20 || l4 + doff > p->ip_end)
			return count_drop(SY_DROP_TCP_BAD_DATA_OFFSET);
		p->sport = th->source;
		p->dport = th->dest;
		p->tcp_flags = ((__u8 *)th)[13];
		return SY_CONTINUE;
	}
	if (p->proto == IPPROTO_UDP) {
		struct udphdr *uh = data + l4;

		if (l4 + 8 > p->ip_end || (void *)(uh + 1) > data_end)
			return count_drop(SY_DROP_L4_TRUNCATED);
		p->sport = uh->source;
		p->dport = uh->dest;
		p->tcp_flags = 0;
		return SY_CONTINUE;
	}
	return count_drop(SY_DROP_UNSUPPORTED_PROTO);
}

#endif
