/* SPDX-License-Identifier: (GPL-2.0-only OR BSD-2-Clause) */
/*
 * The Switchyard LB program (XDP). The Swift model, DatapathModel/Pipeline/Pipeline.swift, is
 * its specification; the differential tests hold the two to identical verdicts, output bytes
 * and counters. Each stage lives in the header of the same name as the model's file.
 */
#include "common.h"
#include "maps.h"
#include "drop.h"
#include "lookup.h"
#include "parse.h"
#include "source_range.h"
#include "conntrack.h"
#include "encap.h"
#include "icmp.h"

static __always_inline void count_forward(__u32 service, __u32 backend, __u64 bytes)
{
	struct sy_service_counters *s = bpf_map_lookup_elem(&sy_service_stats, &service);
	struct sy_backend_counters *b = bpf_map_lookup_elem(&sy_backend_stats, &backend);

	if (s) {
		s->packets += 1;
		s->bytes += bytes;
	}
	if (b) {
		b->packets += 1;
		b->bytes += bytes;
	}
}

static __always_inline void count_new_flow(__u32 service, __u32 backend)
{
	struct sy_service_counters *s = bpf_map_lookup_elem(&sy_service_stats, &service);
	struct sy_backend_counters *b = bpf_map_lookup_elem(&sy_backend_stats, &backend);

	if (s)
		s->new_flows += 1;
	if (b)
		b->new_flows += 1;
}

static __always_inline void count_too_big(__u32 service)
{
	struct sy_service_counters *s = bpf_map_lookup_elem(&sy_service_stats, &service);

	if (s)
		s->too_big += 1;
}

static __always_inline int forward(struct xdp_md *ctx, const struct pkt *p, const struct pick *pick,
				   const struct sy_service *svc, __u64 hash, const struct sy_node *node,
				   __u64 frame_len)
{
	int rc = encapsulate(ctx, p, pick->be, pick->backend, svc, hash, node);

	if (rc == XDP_TX)
		count_forward(svc->id, pick->backend, frame_len);
	return rc;
}

/* Echo requests to a VIP are answered; ICMP errors about a flow go to the flow's backend, and
 * nothing is inserted for them. */
static __always_inline int steer_icmp(struct xdp_md *ctx, struct pkt *p, const struct sy_node *node, __u64 frame_len)
{
	struct sy_flow_key key = {};
	struct quoted_flow q = {};
	struct sy_service *svc;
	struct pick pick;
	__u64 hash;
	int rc;

	rc = icmp_echo_reply(ctx, p);
	if (rc != SY_CONTINUE)
		return rc;
	rc = icmp_quoted_flow(ctx, p, &q);
	if (rc != SY_CONTINUE)
		return rc;
	svc = lookup_service(q.vip, p->family, q.vip_port, q.proto);
	if (!svc)
		return count_drop(SY_DROP_NO_SERVICE);
	/* The flow's client is the quoted packet's destination, not this packet's source (a router
	 * on the path, which need not be in the ranges: path MTU discovery must still work). A
	 * client outside the ranges has no flow here, so an error about one concerns none. */
	rc = check_source_range(svc, q.client, p->family);
	if (rc != SY_CONTINUE)
		return rc;
	make_flow_key(&key, svc, q.client, q.vip, q.client_port, q.vip_port, q.proto, p->family);
	hash = sy_flow_hash(&key);
	rc = pick_backend(svc, &key, hash, 0, 0, node, &pick);
	if (rc != SY_CONTINUE)
		return rc;
	/* Never answer an ICMP error with another (RFC 1122 §3.2.2). */
	if (p->ip_len + encap_overhead(pick.be->family, svc->flags & SY_SVC_F_GUE) > node->mtu)
		return count_drop(SY_DROP_MTU_EXCEEDED);
	return forward(ctx, p, &pick, svc, hash, node, frame_len);
}

SEC("xdp")
int switchyard_lb(struct xdp_md *ctx)
{
	__u64 frame_len = ctx->data_end - ctx->data;
	struct sy_flow_key key = {};
	struct pkt p = {};
	struct sy_service *svc;
	struct sy_node *node;
	struct pick pick;
	__u32 zero = 0, overhead;
	__u64 hash;
	int rc;

	rc = parse_ip(ctx, &p);
	if (rc != SY_CONTINUE)
		return rc;
	node = bpf_map_lookup_elem(&sy_node, &zero);
	if (!node)
		return XDP_PASS;
	if (p.proto == (p.family == SY_FAMILY_V4 ? IPPROTO_ICMP : IPPROTO_ICMPV6))
		return steer_icmp(ctx, &p, node, frame_len);

	rc = parse_ports(ctx, &p);
	if (rc != SY_CONTINUE)
		return rc;
	/* A peeked service was read from the real ports: IPv6 extension headers make the peek
	 * see a next header that is not TCP/UDP, so it only ever hits at the right place. */
	svc = p.svc ? p.svc : lookup_service(p.dst, p.family, p.dport, p.proto);
	if (!svc)
		return count_drop(SY_DROP_NO_SERVICE);
	rc = check_source_range(svc, p.src, p.family);
	if (rc != SY_CONTINUE)
		return rc;

	make_flow_key(&key, svc, p.src, p.dst, p.sport, p.dport, p.proto, p.family);
	hash = sy_flow_hash(&key);
	rc = pick_backend(svc, &key, hash, !(p.proto == IPPROTO_TCP && (p.tcp_flags & TCP_RST)),
			  p.proto == IPPROTO_TCP ? p.tcp_flags : 0, node, &pick);
	if (rc != SY_CONTINUE)
		return rc;
	if (pick.outcome == PICK_INSERTED)
		count_new_flow(svc->id, pick.backend);

	overhead = encap_overhead(pick.be->family, svc->flags & SY_SVC_F_GUE);
	if (p.ip_len + overhead > node->mtu) {
		if (p.family == SY_FAMILY_V4) {
			if (!p.df || p.ip_len < SY_ICMP4_TOO_BIG_QUOTE)
				return count_drop(SY_DROP_MTU_EXCEEDED);
			rc = send_frag_needed(ctx, &p, node->mtu - overhead);
		} else {
			if (p.ip_len < SY_ICMP6_TOO_BIG_QUOTE)
				return count_drop(SY_DROP_MTU_EXCEEDED);
			rc = send_packet_too_big(ctx, &p, node->mtu - overhead);
		}
		if (rc == XDP_TX)
			count_too_big(svc->id);
		return rc;
	}
	return forward(ctx, &p, &pick, svc, hash, node, frame_len);
}

/* Reads the datapath's clocks for the agent (run with BPF_PROG_TEST_RUN): flow-table times are
 * jiffies, which user space cannot read directly. Under a test clock it leaves the test's time. */
SEC("xdp")
int switchyard_clock(struct xdp_md *ctx)
{
	__u32 zero = 0;
	struct sy_clock *c = bpf_map_lookup_elem(&sy_clock, &zero);
	struct sy_node *node = bpf_map_lookup_elem(&sy_node, &zero);

	if (node && (node->flags & SY_NODE_F_TEST_CLOCK))
		return XDP_PASS; /* the test's time stands */
	if (c) {
		c->jiffies = bpf_jiffies64();
		c->ktime_ns = bpf_ktime_get_ns();
	}
	return XDP_PASS;
}

/* For the benchmark: one read of the flow set that bytes of the packet select, nothing else. On a
 * table too large for the caches it measures the memory system's share of a new flow (the read
 * a flow-table probe cannot avoid), next to the full program in the same run. */
SEC("xdp")
int switchyard_cold_read(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data, *data_end = (void *)(long)ctx->data_end;
	__u64 *bytes = data + 26; /* IPv4 source and destination of an untagged frame */
	struct sy_flow_set *set;
	struct sy_node *node;
	__u32 zero = 0, index;

	if ((void *)(bytes + 1) > data_end)
		return XDP_PASS;
	node = bpf_map_lookup_elem(&sy_node, &zero);
	if (!node)
		return XDP_PASS;
	index = sy_flow_set_first((bytes[0] * 0x9e3779b97f4a7c15ull) >> 32, node->flow_set_count);
	set = bpf_map_lookup_elem(&sy_flows, &index);
	return set && set->tag[0] == 1 ? XDP_DROP : XDP_PASS;
}

/* For the benchmark: the memory a new flow's insert decision cannot avoid in this table — both
 * candidate sets' tag lines, read at once (independent loads), as pick_backend reads them. */
SEC("xdp")
int switchyard_cold_read_pair(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data, *data_end = (void *)(long)ctx->data_end;
	__u64 *bytes = data + 26;
	struct sy_flow_set *first, *second;
	struct sy_node *node;
	__u32 zero = 0, i, j, a, b;
	__u64 h;

	if ((void *)(bytes + 1) > data_end)
		return XDP_PASS;
	node = bpf_map_lookup_elem(&sy_node, &zero);
	if (!node)
		return XDP_PASS;
	h = bytes[0] * 0x9e3779b97f4a7c15ull;
	i = sy_flow_set_first(h, node->flow_set_count);
	j = sy_flow_set_second(h, node->flow_set_count);
	first = bpf_map_lookup_elem(&sy_flows, &i);
	second = bpf_map_lookup_elem(&sy_flows, &j);
	if (!first || !second)
		return XDP_PASS;
	a = first->tag[0];
	b = second->tag[0];
	asm volatile("" : : "r"(a), "r"(b));
	return a == 1 || b == 1 ? XDP_DROP : XDP_PASS;
}

/* For the benchmark: what any encapsulating LB does to a packet, and nothing else — parse
 * Ethernet and IPv4, grow the head, write fixed MACs and an outer IPv4 header with its checksum.
 * No lookup, no counter, no clock: the floor under `established, one hot flow`. */
SEC("xdp")
int switchyard_forward_floor(struct xdp_md *ctx)
{
	void *data = (void *)(long)ctx->data, *data_end = (void *)(long)ctx->data_end;
	struct ethhdr *eth = data;
	struct iphdr *inner = data + ETH_HLEN_, *outer;
	__u16 inner_len;

	if ((void *)(inner + 1) > data_end || eth->h_proto != bpf_htons(ETH_P_IP))
		return XDP_PASS;
	inner_len = bpf_ntohs(inner->tot_len);
	if (bpf_xdp_adjust_head(ctx, -(int)sizeof(struct iphdr)))
		return XDP_DROP;
	data = (void *)(long)ctx->data;
	data_end = (void *)(long)ctx->data_end;
	eth = data;
	outer = data + ETH_HLEN_;
	if ((void *)(outer + 1) > data_end)
		return XDP_DROP;
	__builtin_memset(eth->h_dest, 0x02, ETH_ALEN);
	__builtin_memset(eth->h_source, 0x04, ETH_ALEN);
	eth->h_proto = bpf_htons(ETH_P_IP);
	outer->version = 4;
	outer->ihl = 5;
	outer->tos = 0;
	outer->tot_len = bpf_htons(sizeof(*outer) + inner_len);
	outer->id = 0;
	outer->frag_off = bpf_htons(0x4000);
	outer->ttl = SY_ENCAP_TTL;
	outer->protocol = IPPROTO_IPIP;
	outer->check = 0;
	outer->saddr = bpf_htonl(0x0a00000b);
	outer->daddr = bpf_htonl(0x0a010001);
	outer->check = ipv4_header_csum(outer);
	return XDP_TX;
}

/* For the peer of a veth that runs switchyard_lb natively (XDP_TX needs a program there), and
 * the harness floor of the benchmark. */
SEC("xdp")
int switchyard_pass(struct xdp_md *ctx)
{
	return XDP_PASS;
}

char LICENSE[] SEC("license") = "Dual BSD/GPL";
