/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/* Stage 5 — mirrors DatapathModel/Pipeline/ICMP.swift. Too-big replies to clients, and ICMP
 * errors about a flow steered to the flow's backend. */
#ifndef SY_ICMP_H
#define SY_ICMP_H

#include "drop.h"

struct quoted_flow {
	__be32 vip[4];
	__be32 client[4];
	__be16 vip_port;
	__be16 client_port;
	__u8 proto;
};

static __always_inline int icmp_steerable(__u8 family, __u8 type)
{
	if (family == SY_FAMILY_V4)
		return type == ICMP_DEST_UNREACH || type == ICMP_TIME_EXCEEDED || type == ICMP_PARAMETERPROB;
	return type >= ICMPV6_DEST_UNREACH && type <= ICMPV6_PARAMPROB; /* 1, 2, 3, 4 */
}

#define ICMP_ECHO_REQUEST   8
#define ICMP_ECHO_REPLY	    0
#define ICMPV6_ECHO_REQUEST 128
#define ICMPV6_ECHO_REPLY   129

/* A stored checksum after one 16-bit word it covers changed (RFC 1624, eqn. 3). Words as loaded
 * from the packet: the one's-complement sum does not care about byte order. 0 is written as
 * 0xffff (InternetChecksum.updated says why). */
static __always_inline __u16 csum_updated(__u16 check, __u16 old, __u16 new)
{
	__u32 sum = (__u32)(__u16)~check + (__u32)(__u16)~old + new;
	__u16 result;

	sum = (sum & 0xffff) + (sum >> 16);
	sum = (sum & 0xffff) + (sum >> 16);
	result = ~sum;
	return result ? result : 0xffff;
}

/* An echo request to a VIP (RFC 792; RFC 4443 §4.1), answered from the VIP out of the ingress
 * port: MACs and addresses swapped, TTL / hop limit reset, type made a reply, the ICMP checksum
 * updated for that word. Only without IPv4 options or IPv6 extension headers. XDP_TX, or
 * SY_CONTINUE for any other ICMP. */
static __always_inline int icmp_echo_reply(struct xdp_md *ctx, const struct pkt *p)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	struct ethhdr *eth = data;
	__u8 mac[ETH_ALEN];
	__u8 *icmp, reply;
	__u16 old;

	if (p->family == SY_FAMILY_V4) {
		struct iphdr *iph = data + ETH_HLEN_;
		__be32 addr;

		icmp = data + ETH_HLEN_ + 20;
		if (p->l4 != ETH_HLEN_ + 20 || p->l4 + 8 > p->ip_end || (void *)(icmp + 8) > data_end)
			return SY_CONTINUE;
		if (icmp[0] != ICMP_ECHO_REQUEST || icmp[1] != 0)
			return SY_CONTINUE;
		addr = iph->saddr;
		iph->saddr = iph->daddr;
		iph->daddr = addr;
		iph->ttl = SY_ENCAP_TTL;
		iph->check = 0;
		iph->check = ipv4_header_csum(iph);
		reply = ICMP_ECHO_REPLY;
	} else {
		struct ipv6hdr *ip6 = data + ETH_HLEN_;
		struct in6_addr addr;

		icmp = data + ETH_HLEN_ + IPV6_HLEN;
		if (p->l4 != ETH_HLEN_ + IPV6_HLEN || p->l4 + 8 > p->ip_end || (void *)(icmp + 8) > data_end)
			return SY_CONTINUE;
		if (icmp[0] != ICMPV6_ECHO_REQUEST || icmp[1] != 0)
			return SY_CONTINUE;
		addr = ip6->saddr;
		ip6->saddr = ip6->daddr;
		ip6->daddr = addr;
		ip6->hop_limit = SY_ENCAP_TTL;
		reply = ICMPV6_ECHO_REPLY;
	}
	__builtin_memcpy(mac, eth->h_source, ETH_ALEN);
	__builtin_memcpy(eth->h_source, eth->h_dest, ETH_ALEN);
	__builtin_memcpy(eth->h_dest, mac, ETH_ALEN);
	old = *(__u16 *)icmp;
	icmp[0] = reply;
	*(__u16 *)(icmp + 2) = csum_updated(*(__u16 *)(icmp + 2), old, *(__u16 *)icmp);
	count_event(SY_EVENT_ICMP_ECHO_REPLIED);
	return XDP_TX;
}

/* The flow an ICMP error is about, from the packet it quotes (VIP → client). */
static __always_inline int icmp_quoted_flow(struct xdp_md *ctx, const struct pkt *p, struct quoted_flow *q)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	__u32 l4 = p->l4, qo, ports;
	__u8 *icmp, *quote;

	if (l4 > 0x3fff)
		return count_drop(SY_DROP_L4_TRUNCATED);
	icmp = data + l4;
	if (l4 + 8 > p->ip_end || (void *)(icmp + 8) > data_end)
		return count_drop(SY_DROP_L4_TRUNCATED);
	if (!icmp_steerable(p->family, icmp[0]))
		return count_drop(SY_DROP_ICMP_UNSUPPORTED);
	qo = l4 + 8;
	quote = data + qo;
	if (p->family == SY_FAMILY_V4) {
		struct iphdr *iph = (struct iphdr *)quote;

		if (qo + 20 > p->ip_end || (void *)(iph + 1) > data_end || iph->version != 4 || iph->ihl < 5)
			return count_drop(SY_DROP_ICMP_QUOTE_TRUNCATED);
		ports = qo + iph->ihl * 4;
		q->proto = iph->protocol;
		q->vip[0] = iph->saddr;
		q->client[0] = iph->daddr;
	} else {
		struct ipv6hdr *ip6 = (struct ipv6hdr *)quote;

		if (qo + 40 > p->ip_end || (void *)(ip6 + 1) > data_end || ip6->version != 6)
			return count_drop(SY_DROP_ICMP_QUOTE_TRUNCATED);
		ports = qo + 40;
		q->proto = ip6->nexthdr;
		__builtin_memcpy(q->vip, &ip6->saddr, 16);
		__builtin_memcpy(q->client, &ip6->daddr, 16);
	}
	if (q->proto != IPPROTO_TCP && q->proto != IPPROTO_UDP)
		return count_drop(SY_DROP_ICMP_UNSUPPORTED);
	if (ports > 0x3fff)
		return count_drop(SY_DROP_ICMP_QUOTE_TRUNCATED);
	__be16 *pp = data + ports;
	if (ports + 4 > p->ip_end || (void *)(pp + 2) > data_end)
		return count_drop(SY_DROP_ICMP_QUOTE_TRUNCATED);
	q->vip_port = pp[0];
	q->client_port = pp[1];
	return SY_CONTINUE;
}

/* One's-complement sum of `len` packet bytes (a multiple of 4) in 512-byte steps, the most
 * bpf_csum_diff takes at once. */
#define CSUM_STEP(ptr, n, seed) bpf_csum_diff(0, 0, (__be32 *)(ptr), (n), (seed))

/* Turns the frame into a reply of `new_len` bytes: `grow` bytes of new headers in front of the
 * original IP packet (which becomes the quote), the tail cut, the Ethernet header addressed back
 * to the sender with `proto`. Returns the new frame start, or NULL (the caller counts the drop). */
static __always_inline void *reshape_for_reply(struct xdp_md *ctx, int grow, __u32 new_len, __be16 proto)
{
	void *data = (void *)(long)ctx->data;
	void *data_end = (void *)(long)ctx->data_end;
	struct ethhdr *eth = data;
	__u8 in_src[ETH_ALEN], in_dst[ETH_ALEN];

	if ((void *)(eth + 1) > data_end)
		return NULL;
	__builtin_memcpy(in_src, eth->h_source, ETH_ALEN);
	__builtin_memcpy(in_dst, eth->h_dest, ETH_ALEN);
	if (bpf_xdp_adjust_head(ctx, -grow))
		return NULL;
	data = (void *)(long)ctx->data;
	data_end = (void *)(long)ctx->data_end;
	if (bpf_xdp_adjust_tail(ctx, (int)new_len - (int)(data_end - data)))
		return NULL;
	data = (void *)(long)ctx->data;
	data_end = (void *)(long)ctx->data_end;
	eth = data;
	if ((void *)(eth + 1) > data_end)
		return NULL;
	__builtin_memcpy(eth->h_dest, in_src, ETH_ALEN);
	__builtin_memcpy(eth->h_source, in_dst, ETH_ALEN);
	eth->h_proto = proto;
	return data;
}

/* Fragmentation needed (RFC 792, RFC 1191) back to the client, from the VIP, quoting
 * SY_ICMP4_TOO_BIG_QUOTE bytes of the packet; the caller checked the packet has them. */
static __always_inline int send_frag_needed(struct xdp_md *ctx, const struct pkt *p, __u16 mtu)
{
	const __u32 new_len = ETH_HLEN_ + 20 + 8 + SY_ICMP4_TOO_BIG_QUOTE;
	void *data = reshape_for_reply(ctx, 28, new_len, bpf_htons(ETH_P_IP));
	void *data_end = (void *)(long)ctx->data_end;
	struct iphdr *iph;
	__u8 *icmp;
	__s64 sum;

	if (!data || data + new_len > data_end)
		return count_drop(SY_DROP_ENCAP_FAILED);
	iph = data + ETH_HLEN_;
	icmp = data + ETH_HLEN_ + 20;
	iph->version = 4;
	iph->ihl = 5;
	iph->tos = 0;
	iph->tot_len = bpf_htons(20 + 8 + SY_ICMP4_TOO_BIG_QUOTE);
	iph->id = 0;
	iph->frag_off = 0;
	iph->ttl = SY_ENCAP_TTL;
	iph->protocol = IPPROTO_ICMP;
	iph->check = 0;
	iph->saddr = p->dst[0];
	iph->daddr = p->src[0];
	iph->check = ipv4_header_csum(iph);

	icmp[0] = ICMP_DEST_UNREACH;
	icmp[1] = ICMP_FRAG_NEEDED;
	*(__u16 *)(icmp + 2) = 0;
	*(__u16 *)(icmp + 4) = 0;
	*(__be16 *)(icmp + 6) = bpf_htons(mtu);
	sum = CSUM_STEP(icmp, 512, 0);
	sum = CSUM_STEP(icmp + 512, 8 + SY_ICMP4_TOO_BIG_QUOTE - 512, sum);
	if (sum < 0)
		return count_drop(SY_DROP_ENCAP_FAILED);
	*(__u16 *)(icmp + 2) = ~csum_fold(sum);
	return XDP_TX;
}

/* Packet too big (RFC 4443 §3.2) back to the client, from the VIP, quoting
 * SY_ICMP6_TOO_BIG_QUOTE bytes. */
static __always_inline int send_packet_too_big(struct xdp_md *ctx, const struct pkt *p, __u32 mtu)
{
	const __u32 icmp_len = 8 + SY_ICMP6_TOO_BIG_QUOTE;
	const __u32 new_len = ETH_HLEN_ + IPV6_HLEN + icmp_len;
	void *data = reshape_for_reply(ctx, 48, new_len, bpf_htons(ETH_P_IPV6));
	void *data_end = (void *)(long)ctx->data_end;
	__be32 pseudo[10];
	struct ipv6hdr *ip6;
	__u8 *icmp;
	__s64 sum;

	if (!data || data + new_len > data_end)
		return count_drop(SY_DROP_ENCAP_FAILED);
	ip6 = data + ETH_HLEN_;
	icmp = data + ETH_HLEN_ + IPV6_HLEN;
	*(__be32 *)ip6 = bpf_htonl(6u << 28);
	ip6->payload_len = bpf_htons(icmp_len);
	ip6->nexthdr = IPPROTO_ICMPV6;
	ip6->hop_limit = SY_ENCAP_TTL;
	__builtin_memcpy(&ip6->saddr, p->dst, 16);
	__builtin_memcpy(&ip6->daddr, p->src, 16);

	icmp[0] = ICMPV6_PKT_TOOBIG;
	icmp[1] = 0;
	*(__u16 *)(icmp + 2) = 0;
	*(__be32 *)(icmp + 4) = bpf_htonl(mtu);
	/* RFC 8200 §8.1 pseudo-header: source, destination, upper-layer length, next header. */
	__builtin_memcpy(pseudo, p->dst, 16);
	__builtin_memcpy(pseudo + 4, p->src, 16);
	pseudo[8] = bpf_htonl(icmp_len);
	pseudo[9] = bpf_htonl(IPPROTO_ICMPV6);
	sum = bpf_csum_diff(0, 0, pseudo, sizeof(pseudo), 0);
	sum = CSUM_STEP(icmp, 512, sum);
	sum = CSUM_STEP(icmp + 512, 512, sum);
	sum = CSUM_STEP(icmp + 1024, icmp_len - 1024, sum);
	if (sum < 0)
		return count_drop(SY_DROP_ENCAP_FAILED);
	*(__u16 *)(icmp + 2) = ~csum_fold(sum);
	return XDP_TX;
}

#endif
